package tcp

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// The fork model in process. A forked child is a copy of the test binary
// and gets a copy of every descriptor the test holds at the fork, its own
// client's end of the connection included; close in the test then drops
// only the test's copy, and the child never sees EOF. So these tests end a
// connection with shutdown(SHUT_WR), which acts on the socket, wherever
// they need the child to finish by itself; the others leave the children
// to the server's stop (SIGTERM). cmd/socklab's tests run the server as
// its own process, where neither trick is needed.

func startFork(t testing.TB, cfg Config) server {
	t.Helper()
	return startRaw(t, cfg, ServeFork)
}

// waitNoChildren waits up to limit until this process has no child left,
// not even a zombie, and returns what is left otherwise.
func waitNoChildren(limit time.Duration) []string {
	deadline := time.Now().Add(limit)
	for {
		kids := testenv.Children()
		if len(kids) == 0 || time.Now().After(deadline) {
			return kids
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Both clients echo words through forked children; Stop kills the
// children still serving and reaps them all.
func TestForkEchoInProcess(t *testing.T) {
	words := []string{"hello", "a", strings.Repeat("x", BufSize), strings.Repeat("y", 1000)}
	for _, ck := range clientKinds {
		t.Run(ck.name, func(t *testing.T) {
			s := startFork(t, Config{})
			for _, word := range words {
				got, err := ck.request(s.port, word, ClientConfig{Timeout: 5 * time.Second})
				if err != nil || got != word {
					t.Fatalf("%.10q: %.20q, %v", word, got, err)
				}
			}
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if kids := testenv.Children(); len(kids) > 0 {
				t.Errorf("children left after Stop: %v", kids)
			}
			log := s.log.String()
			if n := strings.Count(log, "Client connected: 127.0.0.1\n"); n != len(words) {
				t.Errorf("server log has %d \"Client connected\" lines, want %d:\n%s", n, len(words), log)
			}
			if strings.Contains(log, "killed") || strings.Contains(log, "Failed") {
				t.Errorf("children stopped by Stop are not reported:\n%s", log)
			}
		})
	}
}

// A child that sees EOF closes the connection and exits 0, and the
// SIGCHLD goroutine reaps it while the server goes on.
func TestForkReapsOnSIGCHLD(t *testing.T) {
	s := startFork(t, Config{Quiet: true})
	for i := range 3 {
		fd := dial(t, s.port, 5*time.Second)
		word := fmt.Sprintf("round %d", i)
		if _, err := writen(fd, []byte(word)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(word))
		if n, err := sys.Recv(fd, buf, unix.MSG_WAITALL); err != nil || string(buf[:n]) != word {
			t.Fatalf("echo: %q, %v", buf[:max(n, 0)], err)
		}
		sys.Shutdown(fd, unix.SHUT_WR)
		if n, err := sys.Recv(fd, buf, 0); n != 0 || err != nil {
			t.Fatalf("after EOF: recv %d, %v; want the child's close", n, err)
		}
		if kids := waitNoChildren(3 * time.Second); len(kids) > 0 {
			t.Fatalf("round %d: child not reaped within 3s of its exit: %v", i, kids)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if log := s.log.String(); log != "" {
		t.Errorf("children that exit 0 are not reported; log:\n%s", log)
	}
}

// A 1 MiB payload comes back byte for byte through a reader that stalls:
// the child's sends are partial and it loops.
func TestForkMegabyteStallingReader(t *testing.T) {
	want := payload(1 << 20)
	s := startFork(t, Config{Quiet: true})
	fd := dial(t, s.port, 10*time.Second)
	got, err := echoStalling(fd, want)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(got), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes differs from the payload", len(got))
	}
}

// 100 clients at once, 100 children, each with its own word.
func TestForkHundredConcurrent(t *testing.T) {
	s := startFork(t, Config{Quiet: true})
	fds := make([]int, 100)
	for i := range fds {
		fds[i] = dial(t, s.port, 10*time.Second)
	}
	for i, fd := range fds {
		if _, err := writen(fd, []byte(fmt.Sprintf("client %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, fd := range fds {
		want := fmt.Sprintf("client %d", i)
		buf := make([]byte, len(want))
		if n, err := sys.Recv(fd, buf, unix.MSG_WAITALL); err != nil || string(buf[:n]) != want {
			t.Fatalf("client %d: %q, %v", i, buf[:max(n, 0)], err)
		}
	}
	if n := len(testenv.Children()); n != 100 {
		t.Errorf("%d children for 100 open connections", n)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if kids := testenv.Children(); len(kids) > 0 {
		t.Errorf("children left after Stop: %v", kids)
	}
}

// Over MaxChildren children, a client is refused (closed at once) and
// counted; once a child has exited, the next client is served again.
func TestForkMaxChildren(t *testing.T) {
	s := startFork(t, Config{Quiet: true, MaxChildren: 2})
	echoOn := func(fd int, word string) error {
		if _, err := writen(fd, []byte(word)); err != nil {
			return err
		}
		buf := make([]byte, len(word))
		n, err := sys.Recv(fd, buf, unix.MSG_WAITALL)
		if err != nil || string(buf[:n]) != word {
			return fmt.Errorf("echo %q, %v", buf[:max(n, 0)], err)
		}
		return nil
	}
	a := dial(t, s.port, 5*time.Second)
	b := dial(t, s.port, 5*time.Second)
	for _, fd := range []int{a, b} {
		if err := echoOn(fd, "served"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 2; i++ {
		c := dial(t, s.port, 5*time.Second)
		var one [1]byte
		if n, err := sys.Recv(c, one[:], 0); n != 0 || err != nil {
			t.Fatalf("client over the bound: recv %d, %v; want its connection closed", n, err)
		}
		if want := fmt.Sprintf("2 children (--max-children 2); %d refused so far\n", i); !strings.Contains(s.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, s.log)
		}
	}
	sys.Shutdown(a, unix.SHUT_WR) // a's child exits
	var one [1]byte
	if n, err := sys.Recv(a, one[:], 0); n != 0 || err != nil {
		t.Fatalf("a after EOF: %d, %v", n, err)
	}
	var got error
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c := dial(t, s.port, 5*time.Second)
		if got = echoOn(c, "room again"); got == nil {
			break // reaped, by SIGCHLD or by the bound's own WNOHANG pass
		}
	}
	if got != nil {
		t.Fatalf("no client served within 3s of a child's exit: %v\n%s", got, s.log)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// Config.Idle: the child's recv times out, it exits with EAGAIN, the
// client sees EOF and the parent reports the idle client when it reaps.
func TestForkIdle(t *testing.T) {
	s := startFork(t, Config{Quiet: true, Idle: 100 * time.Millisecond})
	fd := dial(t, s.port, 5*time.Second)
	start := time.Now()
	var one [1]byte
	if n, err := sys.Recv(fd, one[:], 0); n != 0 || err != nil {
		t.Fatalf("silent client: recv %d, %v; want EOF", n, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("closed after %v, want about 100ms", took)
	}
	if kids := waitNoChildren(3 * time.Second); len(kids) > 0 {
		t.Fatalf("idle child not reaped: %v", kids)
	}
	if !strings.Contains(s.log.String(), "Closed idle client 127.0.0.1:") {
		t.Errorf("no idle report in the log:\n%s", s.log)
	}
}

// Stop with children serving open connections: Serve returns nil within
// the bound, every child is killed and reaped, every client sees its
// connection end.
func TestForkStopKillsChildren(t *testing.T) {
	s := startFork(t, Config{Quiet: true})
	fds := make([]int, 5)
	for i := range fds {
		fds[i] = dial(t, s.port, 5*time.Second)
		if _, err := writen(fds[i], []byte("x")); err != nil {
			t.Fatal(err)
		}
		var one [1]byte
		if n, err := sys.Recv(fds[i], one[:], 0); n != 1 || err != nil {
			t.Fatalf("echo: %d, %v", n, err)
		}
	}
	if n := len(testenv.Children()); n != 5 {
		t.Fatalf("%d children for 5 open connections", n)
	}
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v", took)
	}
	if kids := testenv.Children(); len(kids) > 0 {
		t.Errorf("children left after Stop: %v", kids)
	}
	for i, fd := range fds {
		// The server's end went with its child (the parent closed its
		// copy after the fork): EOF.
		var one [1]byte
		n, err := sys.Recv(fd, one[:], 0)
		if n != 0 || err != nil {
			t.Errorf("client %d after Stop: recv %d, %v; want EOF", i, n, err)
		}
	}
	if _, err := Request(loopback, s.port, "late", ClientConfig{Timeout: time.Second}); err == nil {
		t.Error("a client was served after Stop")
	}
}

// Stop before Serve: Serve returns at once, having forked nothing.
func TestForkStopBeforeServe(t *testing.T) {
	fd, _, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	ctx, stop := context.WithCancel(context.Background())
	stop()
	done := make(chan error, 1)
	go func() { done <- ServeFork(ctx, fd, Config{}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeFork still running 5s after an earlier Stop")
	}
}

// The slow client's connections overlap on the fork server.
func TestForkSlowClientOverlaps(t *testing.T) {
	s := startFork(t, Config{Quiet: true})
	var out testenv.Buffer
	cfg := SlowConfig{Clients: 10, Delay: 5 * time.Millisecond, Timeout: 5 * time.Second, Out: &out}
	start := time.Now()
	if err := SlowClient(loopback, s.port, "Hi", cfg); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if n := strings.Count(out.String(), "Received: Hi ["); n != 10 {
		t.Fatalf("%d Received lines, want 10:\n%s", n, out.String())
	}
	one := time.Duration(2*len("Hi [0]")) * 5 * time.Millisecond
	if took > 2*one+time.Second {
		t.Errorf("10 connections took %v; one takes about %v", took, one)
	}
}

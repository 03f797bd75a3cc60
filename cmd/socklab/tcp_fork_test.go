package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// The fork model as a user runs it: the raw server and its C twin, each
// its own process, so that a child's copy of the descriptor table holds
// the server's sockets only. TestTCPBehaviour, TestTCPSlowClient,
// TestTCPRlimitFlood, TestTCPSlowLoris and TestTCPSignalsCloseConnections
// run the fork model too; these tests add what is the fork model's own:
// children, their reaping, their bound and their parity with C's.

// forkServers is the fork model in each implementation that has it.
var forkServers = []struct {
	name string
	argv func(t testing.TB, maxChildren int) []string
}{
	{"raw", func(_ testing.TB, n int) []string {
		return socklab("tcp-echo-server", "--mode", "fork", "--quiet", "--max-children", strconv.Itoa(n), "0")
	}},
	{"c", func(t testing.TB, n int) []string {
		return quietC(cBinary(t, "tcp/testdata/fork.c"), "0", strconv.Itoa(n))
	}},
}

// waitForkChildren waits up to limit until pid has exactly n children and
// returns how many it has.
func waitForkChildren(pid, n int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		got := len(proc.Children(pid))
		if got == n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// echoOn sends word on fd and reads it back, all of it.
func echoOn(fd int, word string) error {
	for sent := 0; sent < len(word); {
		n, err := sys.Send(fd, []byte(word[sent:]), unix.MSG_NOSIGNAL)
		if err != nil {
			return err
		}
		sent += n
	}
	buf := make([]byte, len(word))
	n, err := sys.Recv(fd, buf, unix.MSG_WAITALL)
	if err != nil || string(buf[:n]) != word {
		return fmt.Errorf("echo %q, %v; want %q", buf[:max(n, 0)], err, word)
	}
	return nil
}

// 100 clients at once: 100 children echo them; when the clients close,
// every child exits and the server reaps it (SIGCHLD) while it runs on.
func TestTCPForkHundredClients(t *testing.T) {
	for _, s := range forkServers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t, 512)...)
			pid := p.Cmd.Process.Pid
			fds := make([]int, 100)
			defer func() { closeAll(fds) }()
			for i := range fds {
				if fds[i] = rawConnect(p.Port, 5*time.Second); fds[i] < 0 {
					t.Fatalf("client %d could not connect", i)
				}
				sys.SetsockoptTimeval(fds[i], unix.SOL_SOCKET, unix.SO_RCVTIMEO, 10*time.Second)
			}
			for i, fd := range fds {
				if err := echoOn(fd, fmt.Sprintf("client %d", i)); err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
			}
			if n := waitForkChildren(pid, 100, 5*time.Second); n != 100 {
				t.Errorf("%d children serve 100 open connections", n)
			}
			closeAll(fds)
			fds = nil
			if n := waitForkChildren(pid, 0, 5*time.Second); n != 0 {
				t.Errorf("5s after 100 clients closed, %d children left (live or zombie): %v", n, proc.Children(pid))
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
		})
	}
}

// SIGTERM with children serving open connections: the server exits 0
// within the bound, its children are gone (killed and reaped, not left to
// init), and every client sees its connection end.
func TestTCPForkSIGTERMWithChildren(t *testing.T) {
	for _, s := range forkServers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t, 512)...)
			pid := p.Cmd.Process.Pid
			var fds []int
			defer func() { closeAll(fds) }()
			for i := range 3 {
				fd := rawConnect(p.Port, 3*time.Second)
				if fd < 0 {
					t.Fatal("connect failed")
				}
				fds = append(fds, fd)
				sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 3*time.Second)
				if err := echoOn(fd, fmt.Sprintf("open %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if n := waitForkChildren(pid, 3, 3*time.Second); n != 3 {
				t.Fatalf("%d children for 3 open connections", n)
			}
			kids := proc.Children(pid)
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
			for _, kid := range kids {
				if proc.Exists(kid) {
					t.Errorf("child %d outlived its server", kid)
				}
			}
			for i, fd := range fds {
				var b [1]byte
				if n, err := sys.Recv(fd, b[:], 0); !(n == 0 && err == nil) && !errors.Is(err, unix.ECONNRESET) {
					t.Errorf("client %d after SIGTERM: recv %d, %v; want EOF or reset", i, n, err)
				}
			}
		})
	}
}

var refusedLine = regexp.MustCompile(`(?m)^Refused client 127\.0\.0\.1:\d+: 2 children \(--max-children 2\); (\d+) refused so far$`)

// --max-children 2: the third and fourth clients are refused (closed at
// once) and counted on stderr; after one child exits, the next client is
// served.
func TestTCPForkMaxChildren(t *testing.T) {
	for _, s := range forkServers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t, 2)...)
			var fds []int
			defer func() { closeAll(fds) }()
			dial := func() int {
				fd := rawConnect(p.Port, 3*time.Second)
				if fd < 0 {
					t.Fatal("connect failed")
				}
				fds = append(fds, fd)
				sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 3*time.Second)
				return fd
			}
			a, b := dial(), dial()
			for _, fd := range []int{a, b} {
				if err := echoOn(fd, "served"); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				var one [1]byte
				if n, err := sys.Recv(dial(), one[:], 0); n != 0 || err != nil {
					t.Fatalf("client over the bound: recv %d, %v; want its connection closed", n, err)
				}
			}
			time.Sleep(50 * time.Millisecond) // stderr is read by another goroutine
			m := refusedLine.FindAllStringSubmatch(p.Stderr(), -1)
			if len(m) != 2 || m[0][1] != "1" || m[1][1] != "2" {
				t.Errorf("stderr does not count 2 refusals:\n%s", p.Stderr())
			}
			sys.Shutdown(a, unix.SHUT_WR) // a's child sees EOF and exits
			var one [1]byte
			if n, err := sys.Recv(a, one[:], 0); n != 0 || err != nil {
				t.Fatalf("after EOF: recv %d, %v", n, err)
			}
			var err error
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if err = echoOn(dial(), "room again"); err == nil {
					break
				}
			}
			if err != nil {
				t.Errorf("no client served within 3s of a child's exit: %v", err)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
		})
	}
}

// A client that resets (SO_LINGER 0) in the middle of an echo ends its
// child, not the server: the raw server reports the child's errno when it
// reaps it, and both serve the next client.
func TestTCPForkReset(t *testing.T) {
	for _, s := range forkServers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t, 512)...)
			pid := p.Cmd.Process.Pid
			fd := rawConnect(p.Port, 3*time.Second)
			if fd < 0 {
				t.Fatal("connect failed")
			}
			big := make([]byte, 256<<10) // more than the buffers hold: the child is mid-send
			sys.Send(fd, big, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
			time.Sleep(50 * time.Millisecond)
			sys.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &sys.Linger{Onoff: 1, Linger: 0})
			sys.Close(fd) // RST
			if n := waitForkChildren(pid, 0, 3*time.Second); n != 0 {
				t.Errorf("the reset connection's child is still there: %v", proc.Children(pid))
			}
			if got := echoOnce(t, p.Port, "still there"); got != "still there" {
				t.Errorf("after a reset: %q", got)
			}
			if s.name == "raw" {
				time.Sleep(50 * time.Millisecond)
				if !regexp.MustCompile(`(?m)^Client 127\.0\.0\.1:\d+: (connection reset by peer|broken pipe)$`).MatchString(p.Stderr()) {
					t.Errorf("no report of the reset child:\n%s", p.Stderr())
				}
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
		})
	}
}

func TestTCPForkBadInput(t *testing.T) {
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"tcp-echo-server", "--mode", "fork", "--max-children", "0", "0"}, "invalid --max-children 0: want 1 or more\n"},
		{[]string{"tcp-echo-server", "--mode", "fork", "--impl", "net", "0"}, "--impl net has no --mode fork"},
	} {
		r := runCmd(t, 10*time.Second, socklab(c.args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, c.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.stderr)
		}
	}
}

// forkTrace runs a fork server (argv ends in port 0) under strace, echoes
// one word for each of n clients in turn, each time waiting until the
// child has exited and the server is back in accept, stops the server
// with SIGTERM and returns the network steps of every process.
func forkTrace(t *testing.T, argv []string, n int) []strace.Step {
	t.Helper()
	s := startTraced(t, 30*time.Second, argv)
	quiet := func() {
		t.Helper()
		if kids := waitForkChildren(s.PID, 0, 5*time.Second); kids != 0 {
			t.Fatalf("server still has %d children", kids)
		}
		s.waitBlocked("accept", "accept4")
	}
	for i := range n {
		quiet()
		word := fmt.Sprintf("traced %d", i)
		reply, err := tcp.Request([4]byte{127, 0, 0, 1}, s.Port, word, tcp.ClientConfig{Timeout: 5 * time.Second})
		if err != nil || reply != word {
			t.Fatalf("request %d to the traced server: %q, %v", i, reply, err)
		}
	}
	quiet()
	return s.stop()
}

// The raw fork server makes its C twin's network system calls, process
// by process (strace.Parity; its table's only excuse is the shutdown that
// stops a Go server), with descriptors followed across the fork: the
// listening socket's accept makes the connection, the fork copies both,
// the parent closes the connection, the child closes the listening socket,
// echoes on the connection with recvfrom and sendto and closes it. The C
// trace is checked against that sequence first, so that a blind
// comparison cannot pass.
func TestTCPForkParity(t *testing.T) {
	c := forkTrace(t, []string{cBinary(t, "tcp/testdata/fork.c"), "0"}, 2) // not through env: no execve
	g := forkTrace(t, socklab("tcp-echo-server", "--mode", "fork", "--quiet", "0"), 2)
	cp, gp := byProc(c), byProc(g)
	want := [][]string{
		{"socket() = sock#1", "bind(sock#1)", "listen(sock#1)", "getsockname(sock#1)",
			"accept(sock#1) = sock#2", "fork() = proc#2", "close(sock#2)",
			"accept(sock#1) = sock#3", "fork() = proc#3", "close(sock#3)",
			"accept(sock#1) = -1 EINTR", "shutdown(sock#1)", "close(sock#1)"},
		{"proc#2: close(sock#1)", "proc#2: recvfrom(sock#2)", "proc#2: sendto(sock#2)", "proc#2: recvfrom(sock#2)", "proc#2: close(sock#2)"},
		{"proc#3: close(sock#1)", "proc#3: recvfrom(sock#3)", "proc#3: sendto(sock#3)", "proc#3: recvfrom(sock#3)", "proc#3: close(sock#3)"},
	}
	if len(cp) != len(want) {
		t.Fatalf("C server: %d processes for 2 connections, want 3\n%v", len(cp), strace.Keys(c))
	}
	for i := range want {
		if got := strings.Join(strace.Keys(cp[i]), "; "); got != strings.Join(want[i], "; ") {
			t.Fatalf("C process %d:\n%s\nwant\n%s", i+1, got, strings.Join(want[i], "; "))
		}
	}
	if len(gp) != len(cp) {
		t.Fatalf("Go has %d processes, C %d\nGo: %v\nC:  %v", len(gp), len(cp), strace.Keys(g), strace.Keys(c))
	}
	for i := range cp {
		if d := strace.Parity(gp[i], cp[i]); len(d) > 0 {
			t.Errorf("process %d differs from its C twin's:\n%s\nGo: %v\nC:  %v", i+1, strings.Join(d, "\n"), strace.Keys(gp[i]), strace.Keys(cp[i]))
		}
	}
	for _, s := range g {
		if s.Family == "execve" {
			t.Errorf("Go fork server exec'd: %v", s.Key())
		}
	}
	t.Logf("Go: %v", strace.Keys(g))
}

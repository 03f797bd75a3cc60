package tcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

var loopback = [4]byte{127, 0, 0, 1}

// server is an in-process echo server of one model.
type server struct {
	port int
	log  *testenv.Buffer
	stop func() error // stops the server, returns what Serve returned
}

type serveFunc func(ctx context.Context, listenfd int, cfg Config) error

var rawModels = []struct {
	name  string
	serve serveFunc
}{
	{"iterative", ServeIterative},
	{"thread", ServeThread},
	{"select", ServeSelect},
	{"poll", ServePoll},
	{"epoll", func(ctx context.Context, fd int, cfg Config) error { return ServeEpoll(ctx, []int{fd}, cfg) }},
}

// models is every in-process server: the raw models and the net twins.
var models = func() []struct {
	name       string
	concurrent bool
	start      func(t testing.TB, cfg Config) server
} {
	var out []struct {
		name       string
		concurrent bool
		start      func(t testing.TB, cfg Config) server
	}
	for _, m := range rawModels {
		serve := m.serve
		out = append(out, struct {
			name       string
			concurrent bool
			start      func(t testing.TB, cfg Config) server
		}{m.name + "/raw", m.name != "iterative", func(t testing.TB, cfg Config) server { return startRaw(t, cfg, serve) }})
	}
	for _, c := range []bool{false, true} {
		name := "iterative/net"
		if c {
			name = "thread/net"
		}
		out = append(out, struct {
			name       string
			concurrent bool
			start      func(t testing.TB, cfg Config) server
		}{name, c, func(t testing.TB, cfg Config) server { return startNet(t, cfg, c) }})
	}
	return out
}()

func startRaw(t testing.TB, cfg Config, serve serveFunc) server {
	t.Helper()
	fd, port, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	lb := &testenv.Buffer{}
	cfg.Log = lb
	done := make(chan error, 1)
	go func() { done <- serve(ctx, fd, cfg) }()
	return finish(t, server{port: port, log: lb}, done, stop, func() { sys.Close(fd) })
}

func startNet(t testing.TB, cfg Config, concurrent bool) server {
	t.Helper()
	l, port, err := ListenNet(0)
	if err != nil {
		t.Fatal(err)
	}
	lb := &testenv.Buffer{}
	cfg.Log = lb
	done := make(chan error, 1)
	go func() {
		if concurrent {
			done <- ServeThreadNet(l, cfg)
		} else {
			done <- ServeIterativeNet(l, cfg)
		}
	}()
	return finish(t, server{port: port, log: lb}, done, func() { l.Close() }, func() {})
}

// finish gives s a stop that wakes the server, waits up to 5 s for it and
// releases its descriptors, once; the test's cleanup stops it too.
func finish(t testing.TB, s server, done chan error, wake, release func()) server {
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			wake()
			select {
			case result = <-done:
				release()
			case <-time.After(5 * time.Second):
				result = errors.New("server did not stop within 5s")
			}
		})
		return result
	}
	t.Cleanup(func() { s.stop() })
	return s
}

var clientKinds = []struct {
	name    string
	request func(port int, word string, cfg ClientConfig) (string, error)
}{
	{"raw", func(port int, word string, cfg ClientConfig) (string, error) {
		return Request(loopback, port, word, cfg)
	}},
	{"net", func(port int, word string, cfg ClientConfig) (string, error) {
		return RequestNet("127.0.0.1", port, word, cfg)
	}},
}

// Every client against every in-process server model; the binaries and
// the C twins are crossed in cmd/socklab's tests.
func TestEchoInProcess(t *testing.T) {
	words := []string{"hello", "a", strings.Repeat("x", BufSize), strings.Repeat("y", 1000)}
	for _, m := range models {
		for _, ck := range clientKinds {
			t.Run(m.name+"/"+ck.name, func(t *testing.T) {
				s := m.start(t, Config{})
				for _, word := range words {
					got, err := ck.request(s.port, word, ClientConfig{Timeout: 5 * time.Second})
					if err != nil {
						t.Fatalf("%.10q: %v", word, err)
					}
					if got != word {
						t.Fatalf("echo %.20q, want %.20q", got, word)
					}
				}
				if err := s.stop(); err != nil {
					t.Fatalf("stop: %v", err)
				}
				if n := strings.Count(s.log.String(), "Client connected: 127.0.0.1\n"); n != len(words) {
					t.Errorf("server log has %d \"Client connected\" lines, want %d:\n%s", n, len(words), s.log)
				}
			})
		}
	}
}

// dial connects a raw blocking socket to 127.0.0.1:port with timeouts.
func dial(t testing.TB, port int, timeout time.Duration) int {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(fd) })
	if err := setIdle(fd, timeout); err != nil {
		t.Fatal(err)
	}
	sa := sys.NewSockaddrIn(loopback, port)
	if err := sys.Connect(fd, &sa); err != nil {
		t.Fatal(err)
	}
	return fd
}

// EchoStalling sends payload on fd while a reader that stalls now and
// then reads the echo; it returns what came back. The stalls fill the
// server's send buffer, so the server sees partial writes and EAGAIN.
func echoStalling(fd int, payload []byte) ([]byte, error) {
	werr := make(chan error, 1)
	go func() {
		_, err := writen(fd, payload)
		werr <- err
	}()
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 7000)
	for i := 0; len(got) < len(payload); i++ {
		if i%20 == 0 {
			time.Sleep(20 * time.Millisecond) // stall
		}
		n, err := sys.Recv(fd, buf, 0)
		if err != nil {
			return got, err
		}
		if n == 0 {
			return got, io.ErrUnexpectedEOF
		}
		got = append(got, buf[:n]...)
	}
	return got, <-werr
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// A 1 MiB payload comes back byte for byte through a reader that stalls.
func TestEchoMegabyteStallingReader(t *testing.T) {
	want := payload(1 << 20)
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			s := m.start(t, Config{Quiet: true})
			fd := dial(t, s.port, 10*time.Second)
			got, err := echoStalling(fd, want)
			if err != nil {
				t.Fatalf("after %d bytes: %v", len(got), err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo of %d bytes differs from the payload", len(got))
			}
		})
	}
}

// 100 clients at once, each with its own word, all answered.
func TestEchoHundredConcurrent(t *testing.T) {
	for _, m := range models {
		if !m.concurrent {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			s := m.start(t, Config{Quiet: true})
			fds := make([]int, 100)
			for i := range fds {
				fds[i] = dial(t, s.port, 10*time.Second)
			}
			for i, fd := range fds { // all connected, now all talk
				if _, err := writen(fd, []byte(fmt.Sprintf("client %d", i))); err != nil {
					t.Fatal(err)
				}
			}
			for i, fd := range fds {
				want := fmt.Sprintf("client %d", i)
				buf := make([]byte, len(want))
				for got := 0; got < len(want); {
					n, err := sys.Recv(fd, buf[got:], 0)
					if err != nil || n == 0 {
						t.Fatalf("client %d: %d, %v", i, n, err)
					}
					got += n
				}
				if string(buf) != want {
					t.Fatalf("client %d got %q", i, buf)
				}
			}
		})
	}
}

// A client that resets its connection (SO_LINGER 0) in the middle of an
// echo does not take the server down: the next client is served.
func TestEchoSurvivesReset(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			s := m.start(t, Config{Quiet: true})
			fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			sa := sys.NewSockaddrIn(loopback, s.port)
			if err := sys.Connect(fd, &sa); err != nil {
				sys.Close(fd)
				t.Fatal(err)
			}
			big := payload(256 << 10) // more than the buffers hold: the server is mid-send
			sys.Send(fd, big, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
			time.Sleep(20 * time.Millisecond)
			sys.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &sys.Linger{Onoff: 1, Linger: 0})
			sys.Close(fd) // RST
			for i := range 3 {
				got, err := Request(loopback, s.port, "still there", ClientConfig{Timeout: 5 * time.Second})
				if err != nil || got != "still there" {
					t.Fatalf("request %d after a reset: %q, %v", i, got, err)
				}
			}
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
		})
	}
}

// The robust select server refuses, cleanly, a client whose descriptor
// select cannot watch, and goes on serving the others.
func TestSelectRefusesHighDescriptors(t *testing.T) {
	// Fill the descriptor table up to 1023 so the next accept gets 1024+.
	var fill []int
	defer func() {
		for _, fd := range fill {
			sys.Close(fd)
		}
	}()
	s := startRaw(t, Config{}, ServeSelect)
	early := dial(t, s.port, 5*time.Second)
	// One echo first, so that the server has accepted it, on a low
	// descriptor, before the table fills; connect alone does not say so.
	if _, err := writen(early, []byte("first")); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 5)
	if n, err := sys.Recv(early, first, unix.MSG_WAITALL); err != nil || string(first[:n]) != "first" {
		t.Fatalf("early client: %q, %v", first[:max(n, 0)], err)
	}
	for {
		fd, err := sys.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		fill = append(fill, fd)
		if fd >= sys.FD_SETSIZE-1 {
			break
		}
	}
	got, err := Request(loopback, s.port, "too high", ClientConfig{Timeout: 5 * time.Second})
	if !errors.Is(err, ErrShortEcho) && !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("client with descriptor >= 1024: %q, %v; want the connection closed (EOF, or a reset: the word was unread)", got, err)
	}
	if !strings.Contains(s.log.String(), "Refused client 127.0.0.1:") {
		t.Errorf("no refusal in the log:\n%s", s.log)
	}
	if _, err := writen(early, []byte("low")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if n, err := sys.Recv(early, buf, unix.MSG_WAITALL); err != nil || string(buf[:n]) != "low" {
		t.Fatalf("low client after a refusal: %q, %v", buf[:max(n, 0)], err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// --idle closes silent connections in every model; a live client is
// still served while 50 silent ones are open.
func TestIdleClosesSilentClients(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			s := m.start(t, Config{Quiet: true, Idle: 200 * time.Millisecond})
			fd := dial(t, s.port, 5*time.Second)
			writen(fd, []byte("x"))
			buf := make([]byte, 4)
			if n, err := sys.Recv(fd, buf, 0); n != 1 || err != nil {
				t.Fatalf("echo: %d, %v", n, err)
			}
			start := time.Now()
			n, err := sys.Recv(fd, buf, 0) // the server closes us
			if n != 0 || err != nil {
				t.Fatalf("silent client: recv %d, %v; want EOF", n, err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("closed after %v, want about 200ms", took)
			}
			if !strings.Contains(s.log.String(), "Closed idle client") && !strings.HasSuffix(m.name, "/net") {
				t.Errorf("no idle report in the log:\n%s", s.log)
			}
		})
	}
}

// The faithful select server serves nobody until its N clients are in,
// then echoes them all.
func TestSelectFaithful(t *testing.T) {
	s := startRaw(t, Config{Quiet: true, Clients: 3, Idle: 300 * time.Millisecond}, ServeSelectFaithful)
	a := dial(t, s.port, 5*time.Second)
	b := dial(t, s.port, 5*time.Second)
	writen(a, []byte("early"))
	var one [8]byte
	if n, err := sys.Recv(a, one[:], unix.MSG_DONTWAIT); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("echo before the 3rd client: %d, %v; want nothing yet", n, err)
	}
	c := dial(t, s.port, 5*time.Second)
	for i, fd := range []int{a, b, c} {
		w := fmt.Sprintf("w%d", i)
		if fd != a {
			writen(fd, []byte(w))
		} else {
			w = "early"
		}
		buf := make([]byte, len(w))
		if n, err := sys.Recv(fd, buf, unix.MSG_WAITALL); err != nil || string(buf[:n]) != w {
			t.Fatalf("client %d: %q, %v", i, buf[:max(n, 0)], err)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// The slow client's connections overlap on a concurrent server: the run
// takes about one connection's time, not the sum.
func TestSlowClientOverlaps(t *testing.T) {
	s := startRaw(t, Config{Quiet: true}, ServePoll)
	for _, impl := range []string{"raw", "net"} {
		t.Run(impl, func(t *testing.T) {
			var out testenv.Buffer
			cfg := SlowConfig{Clients: 10, Delay: 5 * time.Millisecond, Timeout: 5 * time.Second, Out: &out}
			start := time.Now()
			var err error
			if impl == "raw" {
				err = SlowClient(loopback, s.port, "Hi", cfg)
			} else {
				err = SlowClientNet("127.0.0.1", s.port, "Hi", cfg)
			}
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), "Received: Hi ["); n != 10 {
				t.Fatalf("%d Received lines, want 10:\n%s", n, out.String())
			}
			one := time.Duration(2*len("Hi [0]")) * 5 * time.Millisecond
			if took > 2*one+time.Second {
				t.Errorf("10 connections took %v; one takes about %v", took, one)
			}
		})
	}
}

// A missing server fails every connection: one error says so, with the
// first one's reason.
func TestSlowClientReportsFailures(t *testing.T) {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	sa := sys.NewSockaddrIn(loopback, 0)
	n := sys.SizeofSockaddrIn
	if err := sys.Bind(fd, &sa); err != nil {
		t.Fatal(err)
	}
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	// bound, not listening: nothing answers there
	err = SlowClient(loopback, sa.PortOf(), "x", SlowConfig{Clients: 3, Delay: time.Millisecond})
	var all *AllFailedError
	want := "every one of the 3 clients failed; first: Failed to connect with server: connect: connection refused"
	if !errors.As(err, &all) || all.Clients != 3 || !errors.Is(err, unix.ECONNREFUSED) || err.Error() != want {
		t.Fatalf("err %v, want %q, an *AllFailedError, ECONNREFUSED", err, want)
	}
}

// A connect cut short by SO_SNDTIMEO (EINPROGRESS, or ETIMEDOUT from
// sys.Connect's wait after a signal) is ETIMEDOUT after the timeout; the
// kernel's own ETIMEDOUT before the timeout, and any failure without
// one, keep their reason.
func TestConnectFailed(t *testing.T) {
	errno := func(e unix.Errno) error {
		return fmt.Errorf("wrapped: %w", &os.SyscallError{Syscall: "connect", Err: e})
	}
	for _, c := range []struct {
		err           error
		timeout, took time.Duration
		want          string
		is            error
	}{
		{errno(unix.EINPROGRESS), time.Second, time.Second, "Failed to connect with server: connect: connection timed out after 1s", unix.ETIMEDOUT},
		{errno(unix.ETIMEDOUT), 2 * time.Second, 2 * time.Second, "Failed to connect with server: connect: connection timed out after 2s", unix.ETIMEDOUT},
		{errno(unix.ETIMEDOUT), 200 * time.Second, 127 * time.Second, "Failed to connect with server: wrapped: connect: connection timed out", unix.ETIMEDOUT},
		{errno(unix.ECONNREFUSED), time.Second, 0, "Failed to connect with server: wrapped: connect: connection refused", unix.ECONNREFUSED},
		{errno(unix.EINPROGRESS), 0, time.Second, "Failed to connect with server: wrapped: connect: operation now in progress", unix.EINPROGRESS},
	} {
		err := connectFailed(c.err, c.timeout, c.took)
		if err.Error() != c.want || !errors.Is(err, c.is) {
			t.Errorf("connectFailed(%v, %v, %v) = %v; want %q, is %v", c.err, c.timeout, c.took, err, c.want, c.is)
		}
	}
}

// A context done before Serve: Serve returns at once.
func TestStopBeforeServe(t *testing.T) {
	for _, m := range rawModels {
		fd, _, err := Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		stop()
		done := make(chan error, 1)
		go func() { done <- m.serve(ctx, fd, Config{}) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", m.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Serve still running 5s after an earlier Stop", m.name)
		}
		sys.Close(fd)
	}
}

func TestListenAddressInUse(t *testing.T) {
	fd, port, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	if fd2, _, err := Listen(port); err == nil {
		sys.Close(fd2)
		t.Fatal("second bind to the same port succeeded")
	} else if !errors.Is(err, unix.EADDRINUSE) || !strings.HasPrefix(err.Error(), "Failed to bind server socket") {
		t.Fatalf("err %v", err)
	}
	if l, _, err := ListenNet(port); err == nil {
		l.Close()
		t.Fatal("net: second bind succeeded")
	} else if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("net: %v", err)
	}
}

// The event loops allocate nothing per message: 32-byte round trips (one
// segment: the servers' 32-byte reads would otherwise meet Nagle and
// delayed ACKs) through select, poll and epoll, client and server counted
// together.
func TestLoopsZeroAllocs(t *testing.T) {
	for _, m := range rawModels[2:] { // select, poll, epoll
		t.Run(m.name, func(t *testing.T) {
			s := startRaw(t, Config{Quiet: true}, m.serve)
			fd := dial(t, s.port, 5*time.Second)
			msg := payload(BufSize)
			buf := make([]byte, BufSize)
			var failed error
			roundTrip := func() {
				if _, err := writen(fd, msg); err != nil {
					failed = err
					return
				}
				for got := 0; got < len(buf); {
					n, err := sys.Recv(fd, buf[got:], 0)
					if err != nil || n == 0 {
						failed = fmt.Errorf("recv: %d, %v", n, err)
						return
					}
					got += n
				}
			}
			for range 10 {
				roundTrip() // warm up: the client's struct, the pending buffers
			}
			allocs := testing.AllocsPerRun(500, roundTrip)
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Errorf("%.2f allocations per round trip, want 0", allocs)
			}
		})
	}
}

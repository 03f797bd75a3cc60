package udp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

var loopback = [4]byte{127, 0, 0, 1}

// server is an in-process echo server of one kind.
type server struct {
	port int
	log  *testenv.Buffer
	stop func() error // stops the loop, returns what it returned
}

// servers starts each in-process server kind: the raw loop, the batched
// raw loop and the net twin.
var serverKinds = []struct {
	name  string
	start func(t *testing.T, cfg EchoConfig) server
}{
	{"raw", func(t *testing.T, cfg EchoConfig) server { return startRaw(t, cfg, Echo) }},
	{"batch", func(t *testing.T, cfg EchoConfig) server {
		if cfg.Batch == 0 {
			cfg.Batch = 8
		}
		return startRaw(t, cfg, EchoBatch)
	}},
	{"net", startNet},
}

func startRaw(t *testing.T, cfg EchoConfig, loop func(int, EchoConfig) error) server {
	t.Helper()
	fd, port, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	lb := &testenv.Buffer{}
	cfg.Log = lb
	done := make(chan error, 1)
	go func() { done <- loop(fd, cfg) }()
	s := server{port: port, log: lb}
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			defer sys.Close(fd)
			if err := Stop(fd); err != nil {
				result = err
				return
			}
			select {
			case result = <-done:
			case <-time.After(5 * time.Second):
				result = errors.New("server did not stop within 5s of Stop")
			}
		})
		return result
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func startNet(t *testing.T, cfg EchoConfig) server {
	t.Helper()
	conn, port, err := ListenNet(0)
	if err != nil {
		t.Fatal(err)
	}
	lb := &testenv.Buffer{}
	cfg.Log = lb
	done := make(chan error, 1)
	go func() { done <- EchoNet(conn, cfg) }()
	s := server{port: port, log: lb}
	var once sync.Once
	var result error
	s.stop = func() error {
		once.Do(func() {
			conn.Close()
			select {
			case result = <-done:
			case <-time.After(5 * time.Second):
				result = errors.New("server did not stop within 5s of Close")
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

// Every client against every in-process server; the binaries and the C
// twins are crossed in cmd/socklab's tests.
func TestEchoInProcess(t *testing.T) {
	for _, sk := range serverKinds {
		for _, ck := range clientKinds {
			t.Run(sk.name+"/"+ck.name, func(t *testing.T) {
				s := sk.start(t, EchoConfig{})
				for _, word := range []string{"hello", "a", strings.Repeat("x", DefaultBufSize)} {
					got, err := ck.request(s.port, word, ClientConfig{Timeout: 2 * time.Second})
					if err != nil {
						t.Fatalf("%q: %v", word, err)
					}
					if got != word {
						t.Fatalf("reply %q, want %q", got, word)
					}
				}
				if err := s.stop(); err != nil {
					t.Fatalf("stop: %v", err)
				}
				if n := strings.Count(s.log.String(), "Client connected: 127.0.0.1\n"); n != 3 {
					t.Errorf("server log has %d \"Client connected: 127.0.0.1\" lines, want 3:\n%s", n, s.log)
				}
			})
		}
	}
}

// An empty datagram is a datagram: it must be echoed, not taken for the
// shutdown that also makes recvfrom return 0.
func TestEchoEmptyDatagram(t *testing.T) {
	for _, sk := range serverKinds {
		t.Run(sk.name, func(t *testing.T) {
			s := sk.start(t, EchoConfig{Quiet: true})
			got, err := Request(loopback, s.port, "", ClientConfig{Timeout: 2 * time.Second})
			if err != nil || got != "" {
				t.Fatalf("empty datagram: reply %q, %v", got, err)
			}
			if got, err := Request(loopback, s.port, "still up", ClientConfig{Timeout: 2 * time.Second}); err != nil || got != "still up" {
				t.Fatalf("after an empty datagram: %q, %v", got, err)
			}
		})
	}
}

// A datagram longer than the buffer is reported and not echoed; the server
// keeps serving.
func TestEchoTruncated(t *testing.T) {
	for _, sk := range serverKinds {
		t.Run(sk.name, func(t *testing.T) {
			s := sk.start(t, EchoConfig{BufSize: 16})
			long := strings.Repeat("L", 100)
			_, err := Request(loopback, s.port, long, ClientConfig{BufSize: 200, Timeout: 300 * time.Millisecond})
			if !errors.Is(err, ErrNoReply) {
				t.Fatalf("100-byte datagram to a 16-byte server: err %v, want no reply", err)
			}
			if !strings.Contains(s.log.String(), "truncated") {
				t.Errorf("server log does not report the truncation:\n%s", s.log)
			}
			if got, err := Request(loopback, s.port, "short", ClientConfig{Timeout: 2 * time.Second}); err != nil || got != "short" {
				t.Fatalf("after a long datagram: %q, %v", got, err)
			}
		})
	}
}

// fakeServer is a UDP socket on 127.0.0.1 that the test drives by hand.
func fakeServer(t *testing.T, ip [4]byte) (fd, port int) {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(fd) })
	sa := sys.NewSockaddrIn(ip, 0)
	if err := sys.Bind(fd, &sa); err != nil {
		t.Fatal(err)
	}
	n := sys.SizeofSockaddrIn
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return fd, sa.PortOf()
}

// Replies from another port or another address are ignored and reported;
// the client waits for the server's own reply.
func TestClientIgnoresStrays(t *testing.T) {
	for _, ck := range clientKinds {
		t.Run(ck.name, func(t *testing.T) {
			srv, port := fakeServer(t, loopback)
			otherPort, _ := fakeServer(t, loopback)
			otherAddr, _ := fakeServer(t, [4]byte{127, 0, 0, 2})
			go func() {
				buf := make([]byte, 64)
				var client sys.SockaddrIn
				n := sys.SizeofSockaddrIn
				got, err := sys.Recvfrom(srv, buf, 0, &client, &n)
				if err != nil {
					return
				}
				sys.Sendto(otherPort, []byte("stray port"), 0, &client)
				sys.Sendto(otherAddr, []byte("stray addr"), 0, &client)
				time.Sleep(50 * time.Millisecond)
				sys.Sendto(srv, buf[:got], 0, &client)
			}()
			lb := &testenv.Buffer{}
			got, err := ck.request(port, "real", ClientConfig{Timeout: 3 * time.Second, Log: lb})
			if err != nil || got != "real" {
				t.Fatalf("reply %q, %v; want \"real\"", got, err)
			}
			if n := strings.Count(lb.String(), "Ignored a datagram from unexpected"); n != 2 {
				t.Errorf("client reported %d stray datagrams, want 2:\n%s", n, lb)
			}
			if !strings.Contains(lb.String(), "127.0.0.2:") {
				t.Errorf("client log does not name the stray address 127.0.0.2:\n%s", lb)
			}
		})
	}
}

// With a timeout and retries, a silent server gets 1+retries datagrams and
// the client gives up with ErrNoReply instead of hanging.
func TestClientTimeoutRetries(t *testing.T) {
	for _, ck := range clientKinds {
		t.Run(ck.name, func(t *testing.T) {
			srv, port := fakeServer(t, loopback)
			start := time.Now()
			_, err := ck.request(port, "anyone?", ClientConfig{Timeout: 100 * time.Millisecond, Retries: 2})
			elapsed := time.Since(start)
			if !errors.Is(err, ErrNoReply) {
				t.Fatalf("err %v, want ErrNoReply", err)
			}
			if !strings.Contains(err.Error(), "3 tries") {
				t.Errorf("error %q does not say how many tries", err)
			}
			if elapsed < 300*time.Millisecond || elapsed > 5*time.Second {
				t.Errorf("gave up after %v, want about 3 x 100ms", elapsed)
			}
			if err := sys.SetsockoptTimeval(srv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			for i := range 4 {
				n, err := sys.Recvfrom(srv, buf, 0, nil, nil)
				if i < 3 && (err != nil || string(buf[:n]) != "anyone?") {
					t.Fatalf("datagram %d: %q, %v; want 3 copies of the word", i, buf[:max(n, 0)], err)
				}
				if i == 3 && err == nil {
					t.Fatalf("a 4th datagram arrived: %q", buf[:n])
				}
			}
		})
	}
}

// The raw echo loop allocates nothing per datagram, logging included.
func TestEchoZeroAllocs(t *testing.T) {
	for _, c := range []struct {
		name string
		loop func(int, EchoConfig) error
		cfg  EchoConfig
	}{
		{"raw", Echo, EchoConfig{}},
		{"raw-quiet", Echo, EchoConfig{Quiet: true}},
		{"batch", EchoBatch, EchoConfig{Batch: 8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startRaw(t, c.cfg, c.loop)
			s.log = nil
			cfd, _ := fakeServer(t, loopback)
			to := sys.NewSockaddrIn(loopback, s.port)
			msg := []byte("zero allocations")
			buf := make([]byte, 64)
			var from sys.SockaddrIn
			var failed error
			roundTrip := func() {
				fromlen := sys.SizeofSockaddrIn
				if _, err := sys.Sendto(cfd, msg, 0, &to); err != nil {
					failed = err
					return
				}
				if n, err := sys.Recvfrom(cfd, buf, 0, &from, &fromlen); err != nil || n != len(msg) {
					failed = fmt.Errorf("recvfrom: %d, %v", n, err)
				}
			}
			roundTrip() // warm up
			allocs := testing.AllocsPerRun(200, roundTrip)
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Errorf("%.2f allocations per round trip (server and client together), want 0", allocs)
			}
		})
	}
}

// Stop wakes a server that is blocked in recvfrom, and nothing else does
// the job for it: close(2) on the descriptor does not.
func TestStopWakesBlockedServer(t *testing.T) {
	fd, _, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error, 1)
	go func() { done <- Echo(fd, EchoConfig{Log: io.Discard}) }()
	time.Sleep(50 * time.Millisecond) // let it block
	select {
	case err := <-done:
		t.Fatalf("Echo returned before Stop: %v", err)
	default:
	}
	if err := Stop(fd); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Echo after Stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Echo still blocked 5s after Stop")
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
		t.Fatalf("err %v, want Failed to bind server socket wrapping EADDRINUSE", err)
	}
	if c, _, err := ListenNet(port); err == nil {
		c.Close()
		t.Fatal("net: second bind to the same port succeeded")
	} else if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("net: err %v, want EADDRINUSE", err)
	}
}

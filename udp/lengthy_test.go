package udp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

const testDelay = 200 * time.Millisecond

// lengthyServer is an in-process lengthy-action server of one model.
type lengthyServer struct {
	port int
	log  *testenv.Buffer
	stop func() error // stops it and returns what the Serve function returned
}

// lengthyKinds starts each in-process model; fork-exec and prefork re-exec
// the socklab binary and are tested in cmd/socklab.
var lengthyKinds = []struct {
	name       string
	concurrent bool
	start      func(t testing.TB, cfg LengthyConfig) lengthyServer
}{
	{"iterative", false, rawLengthy(ServeIterative)},
	{"thread", true, rawLengthy(ServeThread)},
	{"thread-net", true, startThreadNet},
	{"fork", true, rawLengthy(ServeFork)},
	{"async", true, rawLengthy(ServeAsync)},
}

func rawLengthy(serve func(int, LengthyConfig) error) func(testing.TB, LengthyConfig) lengthyServer {
	return func(t testing.TB, cfg LengthyConfig) lengthyServer {
		t.Helper()
		fd, port, err := Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		lb := &testenv.Buffer{}
		cfg.Log = lb
		done := make(chan error, 1)
		go func() { done <- serve(fd, cfg) }()
		return lengthyServer{port: port, log: lb, stop: stopper(t, func() error { return Stop(fd) },
			func() { sys.Close(fd) }, done, cfg.Delay)}
	}
}

func startThreadNet(t testing.TB, cfg LengthyConfig) lengthyServer {
	t.Helper()
	conn, port, err := ListenNet(0)
	if err != nil {
		t.Fatal(err)
	}
	lb := &testenv.Buffer{}
	cfg.Log = lb
	done := make(chan error, 1)
	go func() { done <- ServeThreadNet(conn, cfg) }()
	return lengthyServer{port: port, log: lb, stop: stopper(t, func() error { return StopLengthyNet(conn) },
		func() { conn.Close() }, done, cfg.Delay)}
}

// stopper returns a once-only stop function, also run at cleanup: it
// stops the server, waits for it (bounded by the delay plus 5 s) and
// closes its socket.
func stopper(t testing.TB, stop func() error, closeFn func(), done chan error, delay time.Duration) func() error {
	var once sync.Once
	var result error
	f := func() error {
		once.Do(func() {
			defer closeFn()
			if err := stop(); err != nil {
				result = err
				return
			}
			select {
			case result = <-done:
			case <-time.After(delay + 5*time.Second):
				result = errors.New("server did not return within delay+5s of its stop")
			}
		})
		return result
	}
	t.Cleanup(func() { f() })
	return f
}

// Every model answers each of 20 clients fired at once with its own
// message upper-cased. The iterative one takes at least 20 delays; the
// concurrent ones overlap the delays and finish within 3 delays + 1 s.
// Behaviour, not speed: the bounds are generous.
func TestLengthyModes(t *testing.T) {
	for _, k := range lengthyKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s := k.start(t, LengthyConfig{Delay: testDelay, Quiet: true})
			out := &testenv.Buffer{}
			res := Stress(loopback, s.port, "hello world", StressConfig{Clients: 20, Timeout: 20*testDelay + 10*time.Second, Out: out})
			if err := res.Err(); err != nil {
				t.Fatalf("%v\nserver log:\n%s", err, s.log)
			}
			for n := range 20 {
				want := fmt.Sprintf("Received: HELLO WORLD [%d]\n", n)
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if k.concurrent {
				if limit := 3*testDelay + time.Second; res.Elapsed > limit {
					t.Errorf("20 requests took %v; the delays should overlap (limit %v)", res.Elapsed, limit)
				}
			} else if res.Elapsed < 20*testDelay {
				t.Errorf("20 requests took %v, less than 20 x %v: they were not served one at a time", res.Elapsed, testDelay)
			}
			t.Logf("20 requests, delay %v: %v (%.2f x the delay)", testDelay, res.Elapsed, float64(res.Elapsed)/float64(testDelay))
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if got := s.log.String(); got != "" {
				t.Errorf("quiet server logged:\n%s", got)
			}
		})
	}
}

// Client connected lines, one per request, as in the echo server.
func TestLengthyReportsClients(t *testing.T) {
	for _, k := range lengthyKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s := k.start(t, LengthyConfig{Delay: time.Millisecond})
			for i := range 3 {
				got, err := Request(loopback, s.port, fmt.Sprintf("req %d", i), ClientConfig{Timeout: 5 * time.Second})
				if err != nil || got != fmt.Sprintf("REQ %d", i) {
					t.Fatalf("reply %q, %v", got, err)
				}
			}
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(s.log.String(), "Client connected: 127.0.0.1\n"); n != 3 {
				t.Errorf("%d \"Client connected\" lines, want 3:\n%s", n, s.log)
			}
		})
	}
}

// A datagram longer than the buffer is detected (MSG_TRUNC), reported and
// not answered; the server goes on serving.
func TestLengthyTruncated(t *testing.T) {
	for _, k := range lengthyKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s := k.start(t, LengthyConfig{Delay: time.Millisecond, BufSize: 16, Quiet: true})
			_, err := Request(loopback, s.port, strings.Repeat("l", 100), ClientConfig{BufSize: 200, Timeout: 300 * time.Millisecond})
			if !errors.Is(err, ErrNoReply) {
				t.Fatalf("100 bytes to a 16-byte server: %v, want no reply", err)
			}
			if !strings.Contains(s.log.String(), "truncated: 100 bytes, buffer 16; not answered") &&
				!strings.Contains(s.log.String(), "truncated: buffer 16; not answered") {
				t.Errorf("server log does not report the truncation:\n%s", s.log)
			}
			if got, err := Request(loopback, s.port, "short", ClientConfig{Timeout: 5 * time.Second}); err != nil || got != "SHORT" {
				t.Fatalf("after a long datagram: %q, %v", got, err)
			}
		})
	}
}

// Over MaxChildren, requests are dropped and counted in the log; the
// server stays up and the others are answered.
func TestLengthyMaxChildren(t *testing.T) {
	for _, k := range lengthyKinds {
		if !k.concurrent {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s := k.start(t, LengthyConfig{Delay: 500 * time.Millisecond, MaxChildren: 3, Quiet: true})
			res := Stress(loopback, s.port, "bounded", StressConfig{Clients: 8, Timeout: 2 * time.Second})
			if res.Replies != 3 || len(res.Missing) != 5 || len(res.Wrong) != 0 {
				t.Errorf("8 requests, bound 3: %d replies, %d missing, %d wrong; want 3, 5, 0\n%s",
					res.Replies, len(res.Missing), len(res.Wrong), s.log)
			}
			if !strings.Contains(s.log.String(), "5 dropped so far") {
				t.Errorf("server log does not count 5 drops:\n%s", s.log)
			}
			if got, err := Request(loopback, s.port, "after", ClientConfig{Timeout: 5 * time.Second}); err != nil || got != "AFTER" {
				t.Fatalf("after the drops: %q, %v", got, err)
			}
		})
	}
}

// A stopped server receives no more, but the requests in progress are
// answered before it returns.
func TestLengthyStopLetsRequestsFinish(t *testing.T) {
	for _, k := range lengthyKinds {
		if !k.concurrent {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			s := k.start(t, LengthyConfig{Delay: 300 * time.Millisecond, Quiet: true})
			results := make(chan StressResult, 1)
			go func() {
				results <- Stress(loopback, s.port, "in flight", StressConfig{Clients: 5, Timeout: 5 * time.Second})
			}()
			time.Sleep(100 * time.Millisecond) // the requests are in progress
			t0 := time.Now()
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d < 100*time.Millisecond {
				t.Errorf("stop returned after %v, before the requests in progress were done", d)
			}
			if err := (<-results).Err(); err != nil {
				t.Errorf("requests in progress at the stop: %v", err)
			}
			if _, err := Request(loopback, s.port, "late", ClientConfig{Timeout: 300 * time.Millisecond}); err == nil {
				t.Error("a stopped server answered")
			}
		})
	}
}

// The raw loops allocate nothing per request (the thread model copies each
// request for its goroutine, as C mallocs one).
func TestLengthyZeroAllocs(t *testing.T) {
	for _, c := range []struct {
		name  string
		serve func(int, LengthyConfig) error
	}{
		{"iterative", ServeIterative},
		{"fork", ServeFork},
		{"async", ServeAsync},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := rawLengthy(c.serve)(t, LengthyConfig{Delay: 0})
			s.log = nil
			cfd, _ := fakeServer(t, loopback)
			to := sys.NewSockaddrIn(loopback, s.port)
			msg := []byte("zero allocations")
			buf := make([]byte, 64)
			var failed error
			roundTrip := func() {
				if _, err := sys.Sendto(cfd, msg, 0, &to); err != nil {
					failed = err
					return
				}
				if n, err := sys.Recvfrom(cfd, buf, 0, nil, nil); err != nil || string(buf[:n]) != "ZERO ALLOCATIONS" {
					failed = fmt.Errorf("recvfrom: %q, %v", buf[:max(n, 0)], err)
				}
			}
			roundTrip()
			allocs := testing.AllocsPerRun(50, roundTrip)
			if failed != nil {
				t.Fatal(failed)
			}
			if allocs != 0 {
				t.Errorf("%.2f allocations per request (server and client together), want 0", allocs)
			}
		})
	}
}

// Stress reports lost and wrong replies by client number.
func TestStressReportsMissingAndWrong(t *testing.T) {
	srv, port := fakeServer(t, loopback)
	go func() { // answer [0] right, [1] wrong, [2] not at all
		buf := make([]byte, 64)
		for range 3 {
			var client sys.SockaddrIn
			n := sys.SizeofSockaddrIn
			got, err := sys.Recvfrom(srv, buf, 0, &client, &n)
			if err != nil {
				return
			}
			switch string(buf[:got]) {
			case "w [0]":
				sys.Sendto(srv, []byte("W [0]"), 0, &client)
			case "w [1]":
				sys.Sendto(srv, []byte("w [1]"), 0, &client)
			}
		}
	}()
	for _, impl := range []string{"raw", "net"} {
		t.Run(impl, func(t *testing.T) {
			cfg := StressConfig{Clients: 3, Timeout: 300 * time.Millisecond}
			var res StressResult
			if impl == "raw" {
				res = Stress(loopback, port, "w", cfg)
			} else {
				res = StressNet("localhost", port, "w", cfg)
			}
			if res.Replies != 1 || fmt.Sprint(res.Missing) != "[2]" || fmt.Sprint(res.Wrong) != "[1]" {
				t.Fatalf("result %+v, want 1 reply, [2] missing, [1] wrong", res)
			}
			if err := res.Err(); err == nil || err.Error() != "1 of 3 replies right: no reply for [2]; wrong reply for [1]" {
				t.Errorf("Err() = %v", err)
			}
		})
		if impl == "raw" { // the fake server answers one round only
			break
		}
	}
}

// The net stress client reaches a raw server by name.
func TestStressNet(t *testing.T) {
	s := rawLengthy(ServeThread)(t, LengthyConfig{Delay: 50 * time.Millisecond, Quiet: true})
	res := StressNet("localhost", s.port, "by name", StressConfig{Clients: 5, Timeout: 5 * time.Second})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
}

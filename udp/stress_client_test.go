package udp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/sys"
)

// stressKinds runs the stress client of each implementation at port on
// 127.0.0.1.
var stressKinds = []struct {
	name string
	run  func(port int, word string, cfg StressConfig) StressResult
}{
	{"raw", func(port int, word string, cfg StressConfig) StressResult { return Stress(loopback, port, word, cfg) }},
	{"net", func(port int, word string, cfg StressConfig) StressResult {
		return StressNet("127.0.0.1", port, word, cfg)
	}},
}

// upperServer serves the lengthy action with no delay, in this process.
func upperServer(t *testing.T) int {
	t.Helper()
	fd, port, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeIterative(fd, LengthyConfig{Quiet: true}) }()
	t.Cleanup(func() {
		Stop(fd)
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		sys.Close(fd)
	})
	return port
}

// A reply is right when it is the message with its ASCII letters
// upper-cased, as the servers (toupper(3) in the C locale) make it: a
// word with other letters is not turned into a wrong reply. Out and Log
// may be one writer that is not safe for concurrent use.
func TestStressUpperCasesASCII(t *testing.T) {
	port := upperServer(t)
	for _, k := range stressKinds {
		t.Run(k.name, func(t *testing.T) {
			var w bytes.Buffer
			res := k.run(port, "héllo wörld", StressConfig{Clients: 4, Timeout: 5 * time.Second, Out: &w, Log: &w})
			if err := res.Err(); err != nil || res.Replies != 4 {
				t.Fatalf("%d replies, %v\n%s", res.Replies, err, w.String())
			}
			for n := range 4 {
				if want := fmt.Sprintf("Received: HéLLO WöRLD [%d]\n", n); !strings.Contains(w.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, w.String())
				}
			}
		})
	}
}

// A reply longer than the buffer is a wrong reply; the only client's,
// it fails the run, whose error gives the reason instead of the held-back
// report.
func TestStressTruncatedIsWrong(t *testing.T) {
	srv, port := fakeServer(t, loopback)
	go func() { // one round for each kind
		buf := make([]byte, 64)
		for range len(stressKinds) {
			var client sys.SockaddrIn
			n := sys.SizeofSockaddrIn
			if _, err := sys.Recvfrom(srv, buf, 0, &client, &n); err != nil {
				return
			}
			sys.Sendto(srv, bytes.Repeat([]byte("X"), 300), 0, &client)
		}
	}()
	for _, k := range stressKinds {
		t.Run(k.name, func(t *testing.T) {
			var out, log bytes.Buffer
			res := k.run(port, "long", StressConfig{Clients: 1, Timeout: 3 * time.Second, Out: &out, Log: &log})
			if res.Replies != 0 || fmt.Sprint(res.Wrong) != "[0]" || len(res.Missing) != 0 {
				t.Fatalf("result %+v, want [0] wrong", res)
			}
			if log.Len() != 0 || out.Len() != 0 {
				t.Errorf("log %q, out %q; want nothing", log.String(), out.String())
			}
			if err := res.Err(); err == nil || !errors.Is(err, ErrTruncated) ||
				!strings.HasPrefix(err.Error(), "every one of the 1 clients failed; first: reply longer than the buffer: ") {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

// Stray datagrams are reported and ignored, and do not restart the
// clock: a client that a stray reaches every 50 ms still gives up after
// its timeout. The only client, it fails the run, whose error says why.
func TestStressStraysKeepTheDeadline(t *testing.T) {
	for _, k := range stressKinds {
		t.Run(k.name, func(t *testing.T) {
			srv, port := fakeServer(t, loopback)
			other, _ := fakeServer(t, loopback)
			done := make(chan struct{})
			defer close(done)
			go func() {
				buf := make([]byte, 64)
				var client sys.SockaddrIn
				n := sys.SizeofSockaddrIn
				if _, err := sys.Recvfrom(srv, buf, 0, &client, &n); err != nil {
					return
				}
				for range 100 { // 5 s at most
					sys.Sendto(other, []byte("stray"), 0, &client)
					select {
					case <-done:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
			var log bytes.Buffer
			const timeout = 300 * time.Millisecond
			res := k.run(port, "strays", StressConfig{Clients: 1, Timeout: timeout, Log: &log})
			if fmt.Sprint(res.Missing) != "[0]" {
				t.Fatalf("result %+v, want [0] missing\n%s", res, log.String())
			}
			if res.Elapsed > 3*time.Second {
				t.Errorf("gave up after %v with a %v timeout: the strays restarted the clock", res.Elapsed, timeout)
			}
			if !strings.Contains(log.String(), "Ignored a datagram from unexpected 127.0.0.1:") || strings.Contains(log.String(), "[0]") {
				t.Errorf("log:\n%s", log.String())
			}
			want := fmt.Sprintf("every one of the 1 clients failed; first: no reply from 127.0.0.1:%d before the timeout", port)
			if err := res.Err(); err == nil || !errors.Is(err, ErrNoReply) || err.Error() != want {
				t.Errorf("Err() = %v, want %q", err, want)
			}
		})
	}
}

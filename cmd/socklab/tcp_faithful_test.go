package main

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// faithfulIdle is the round's idle time the tests give both twins.
const faithfulIdle = 300 * time.Millisecond

// The tutorial's fragile select server and its C twin, as processes, in
// one table: a round of two clients serves nobody until both are in,
// echoes each, and ends no sooner than the idle time after its last send,
// closing both; SIGTERM stops either twin with status 0, between rounds
// (blocked in accept) and in the middle of a round (spinning).
func TestSelectFaithfulTwins(t *testing.T) {
	twins := []struct {
		name string
		argv func(t *testing.T) []string
	}{
		{"raw", func(*testing.T) []string {
			return socklab("tcp-echo-server", "--mode", "select", "--faithful", "--clients", "2", "--idle", faithfulIdle.String(), "0")
		}},
		{"c", func(t *testing.T) []string {
			return []string{cBinary(t, "tcp/testdata/select_faithful.c"), "0", "2", "300"}
		}},
	}
	for _, tw := range twins {
		for _, stopIn := range []string{"accept", "round"} {
			t.Run(tw.name+"/stop in "+stopIn, func(t *testing.T) {
				p := startServer(t, tw.argv(t)...)
				a := faithfulDial(t, p.Port)
				faithfulSend(t, a, "early")
				time.Sleep(100 * time.Millisecond)
				var one [8]byte
				if n, err := sys.Recv(a, one[:], unix.MSG_DONTWAIT); !errors.Is(err, unix.EAGAIN) {
					t.Fatalf("echo before the round's second client: %d, %v; want nothing yet", n, err)
				}
				b := faithfulDial(t, p.Port)
				start := time.Now()
				faithfulSend(t, b, "late")
				faithfulEcho(t, a, "early")
				faithfulEcho(t, b, "late")
				if stopIn == "round" {
					time.Sleep(50 * time.Millisecond) // spinning now: both sockets are writable
				} else {
					for _, fd := range []int{a, b} {
						if n, err := sys.Recv(fd, one[:], 0); n != 0 || err != nil {
							t.Fatalf("end of the round: recv %d, %v; want 0 (the server closed)", n, err)
						}
					}
					if d := time.Since(start); d < faithfulIdle {
						t.Errorf("the round ended %v after its last echo; want no sooner than %v", d, faithfulIdle)
					}
					time.Sleep(50 * time.Millisecond) // blocked in accept again
				}
				if code := p.stop(t, syscall.SIGTERM); code != 0 {
					t.Errorf("exit status %d after SIGTERM; stderr %s", code, p.Stderr())
				}
				if n := strings.Count(p.Stderr(), "Client connected: 127.0.0.1\n"); n != 2 {
					t.Errorf("%d Client connected lines, want 2:\n%s", n, p.Stderr())
				}
			})
		}
	}
}

// faithfulDial connects to port with 2 s receive and send timeouts; the
// test closes it.
func faithfulDial(t *testing.T, port int) int {
	t.Helper()
	fd := rawConnect(port, 2*time.Second)
	if fd < 0 {
		t.Fatalf("connecting to port %d failed", port)
	}
	t.Cleanup(func() { sys.Close(fd) })
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return fd
}

func faithfulSend(t *testing.T, fd int, word string) {
	t.Helper()
	if n, err := sys.Send(fd, []byte(word), unix.MSG_NOSIGNAL); n != len(word) || err != nil {
		t.Fatalf("send %q: %d, %v", word, n, err)
	}
}

func faithfulEcho(t *testing.T, fd int, word string) {
	t.Helper()
	buf := make([]byte, len(word))
	if n, err := sys.Recv(fd, buf, unix.MSG_WAITALL); n != len(word) || err != nil || string(buf) != word {
		t.Fatalf("echo of %q: %q, %v", word, buf[:max(n, 0)], err)
	}
}

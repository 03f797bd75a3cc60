package main

import (
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/tcp"
)

// tcpTraceServer starts a TCP server (argv ends in port 0) under strace,
// has one client echo a word through it, waits until the server blocks
// again in one of the system calls idle, stops it with SIGTERM and returns
// the network steps of every process, in trace order.
func tcpTraceServer(t *testing.T, idle []string, argv []string) []strace.Step {
	t.Helper()
	s := startTraced(t, 20*time.Second, argv, strace.ReadinessSyscalls()...)
	s.waitBlocked(idle...)
	reply, err := tcp.Request([4]byte{127, 0, 0, 1}, s.Port, "traced", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil || reply != "traced" {
		t.Fatalf("request to the traced server: %q, %v", reply, err)
	}
	time.Sleep(50 * time.Millisecond) // let the server see the client's close
	s.waitBlocked(idle...)
	return s.stop()
}

// The raw servers make their C twins' network system calls, in the same
// order, on the same sockets, by family (strace.Parity, whose table is
// the only excuse: the shutdown that stops a blocking Go server; the event
// loops' C twins make it too, in their signal handler). Each C trace is
// checked against the sequence the model must show, so that a blind
// comparison cannot pass.
func TestTCPParity(t *testing.T) {
	accept := []string{"accept", "accept4"}
	sel := []string{"select", "pselect6"}
	pol := []string{"poll", "ppoll"}
	for _, c := range []struct {
		mode string
		wait []string
		want string // the C server's families
	}{
		{"iterative", accept, "socket bind listen getsockname accept recvfrom sendto recvfrom close accept shutdown close"},
		{"select", sel, "socket bind listen getsockname fcntl fcntl select accept fcntl fcntl accept select recvfrom sendto select recvfrom close select shutdown accept close"},
		{"poll", pol, "socket bind listen getsockname fcntl fcntl poll accept fcntl fcntl accept poll recvfrom sendto poll recvfrom close poll shutdown accept close"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			cs := strace.OfProc(tcpTraceServer(t, c.wait, []string{cBinary(t, "tcp/testdata/"+c.mode+".c"), "0"}), 1)
			raw := strace.OfProc(tcpTraceServer(t, c.wait, socklab("tcp-echo-server", "--mode", c.mode, "--quiet", "0")), 1)
			if got := strings.Join(strace.Families(cs), " "); got != c.want {
				t.Fatalf("C server: %s\nwant %s", got, c.want)
			}
			if d := strace.Parity(raw, cs); len(d) > 0 {
				t.Errorf("raw server differs from its C twin:\n%s\nraw: %v\nC:   %v", strings.Join(d, "\n"), strace.Keys(raw), strace.Keys(cs))
			}
		})
	}
}

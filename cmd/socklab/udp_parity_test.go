package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/udp"
)

// traceRun runs argv under strace to completion and returns the network
// steps of its first process.
func traceRun(t *testing.T, argv []string, extra ...string) []strace.Step {
	t.Helper()
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls, out, err := strace.Run(ctx, filepath.Join(t.TempDir(), "trace"), argv, extra...)
	if err != nil {
		t.Fatalf("%v under strace: %v\n%s", argv, err, out)
	}
	return strace.OfProc(strace.Network(calls), 1)
}

// traceServer starts a server (argv ends in port 0) under strace, makes one
// echo request to it, waits until it blocks again in system call idle,
// stops it with SIGTERM and returns its network steps.
func traceServer(t *testing.T, idle []string, argv []string, extra ...string) []strace.Step {
	t.Helper()
	s := startTraced(t, 20*time.Second, argv, extra...)
	reply, err := udp.Request([4]byte{127, 0, 0, 1}, s.Port, "traced", udp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil || reply != "traced" {
		t.Fatalf("request to the traced server: %q, %v", reply, err)
	}
	// Signal only once the server is blocked again, so that every run ends
	// the same way (C: recvfrom interrupted; Go: woken by shutdown).
	s.waitBlocked(idle...)
	return strace.OfProc(s.stop(), 1)
}

func families(steps []strace.Step) string { return strings.Join(strace.Families(steps), " ") }

// The raw client and server make their C twins' network system calls, in
// the same order, on the same sockets; the net twins do not, and the test
// names how they differ so that the comparison cannot pass by being blind.
func TestUDPEchoParity(t *testing.T) {
	srv := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	defer srv.stop(t, syscall.SIGTERM)
	port := strconv.Itoa(srv.Port)

	t.Run("client", func(t *testing.T) {
		c := traceRun(t, []string{cBinary(t, "udp/testdata/echo_client.c"), "127.0.0.1", "parity", port})
		raw := traceRun(t, socklab("udp-echo-client", "127.0.0.1", "parity", port))
		net := traceRun(t, socklab("udp-echo-client", "--impl", "net", "127.0.0.1", "parity", port), strace.ReadinessSyscalls()...)
		if got, want := families(c), "socket sendto recvfrom close"; got != want {
			t.Fatalf("C client: %s, want %s", got, want)
		}
		if d := strace.Parity(raw, c); len(d) > 0 {
			t.Errorf("raw client differs from its C twin:\n%s\nraw: %v\nC:   %v", strings.Join(d, "\n"), strace.Keys(raw), strace.Keys(c))
		}
		checkNetDiffers(t, net, c)
	})

	t.Run("server", func(t *testing.T) {
		c := traceServer(t, []string{"recvfrom"}, []string{cBinary(t, "udp/testdata/echo_server.c"), "0"})
		raw := traceServer(t, []string{"recvfrom"}, socklab("udp-echo-server", "0"))
		net := traceServer(t, []string{"epoll_pwait"}, socklab("udp-echo-server", "--impl", "net", "0"), strace.ReadinessSyscalls()...)
		if got, want := families(c), "socket bind getsockname recvfrom sendto recvfrom shutdown close"; got != want {
			t.Fatalf("C server: %s, want %s", got, want)
		}
		if d := strace.Parity(raw, c); len(d) > 0 {
			t.Errorf("raw server differs from its C twin:\n%s\nraw: %v\nC:   %v", strings.Join(d, "\n"), strace.Keys(raw), strace.Keys(c))
		}
		if got, want := families(raw), "socket bind getsockname recvfrom sendto recvfrom shutdown close"; got != want {
			t.Errorf("raw server: %s, want %s", got, want)
		}
		checkNetDiffers(t, net, c)
	})
}

// checkNetDiffers asserts the differences a net twin is known for: a
// non-blocking close-on-exec socket, SO_BROADCAST, the socket registered
// with the runtime's epoll, and so no parity.
func checkNetDiffers(t *testing.T, net, c []strace.Step) {
	t.Helper()
	if len(net) == 0 || net[0].Family != "socket" {
		t.Fatalf("net twin: no socket step: %v", strace.Keys(net))
	}
	if !net[0].HasFlag(1, "SOCK_NONBLOCK") || !net[0].HasFlag(1, "SOCK_CLOEXEC") {
		t.Errorf("net twin's socket is not SOCK_NONBLOCK|SOCK_CLOEXEC: %s", net[0].Call.String())
	}
	broadcast := regexp.MustCompile(`SO_BROADCAST`)
	found, epoll := false, false
	for _, s := range net {
		if s.Family == "setsockopt" && broadcast.MatchString(s.Args) {
			found = true
		}
		epoll = epoll || s.Family == "epoll_ctl"
	}
	if !found {
		t.Errorf("net twin sets no SO_BROADCAST: %v", strace.Keys(net))
	}
	if !epoll {
		t.Errorf("net twin does not register its socket with epoll: %v", strace.Keys(net))
	}
	t.Logf("net twin: %v", strace.Keys(net))
	if len(strace.Parity(net, c)) == 0 {
		t.Errorf("net twin matches the C twin step for step; the comparison is blind")
	}
}

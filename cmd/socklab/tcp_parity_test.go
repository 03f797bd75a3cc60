package main

import (
	"bufio"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/tcp"
)

// tcpTraceServer starts a TCP server (argv ends in port 0) under strace,
// has one client echo a word through it, waits until the server blocks
// again in one of the system calls nrs, stops it with SIGTERM and returns
// the network steps of every process, in trace order.
func tcpTraceServer(t *testing.T, idle []string, argv []string) []strace.Step {
	t.Helper()
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := strace.Command(ctx, trace, argv, strace.ReadinessSyscalls()...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cancel()
			cmd.Wait()
		}
	}()
	portc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				portc <- n
			}
		}
	}()
	var port int
	select {
	case port = <-portc:
	case <-ctx.Done():
		t.Fatalf("%v did not report its port", argv)
	}
	pid, err := strace.TraceePID(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitBlocked(ctx, pid, idle); err != nil {
		t.Fatal(err)
	}
	reply, err := tcp.Request([4]byte{127, 0, 0, 1}, port, "traced", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil || reply != "traced" {
		t.Fatalf("request to the traced server: %q, %v", reply, err)
	}
	time.Sleep(50 * time.Millisecond) // let the server see the client's close
	if err := waitBlocked(ctx, pid, idle); err != nil {
		t.Fatal(err)
	}
	if err := strace.Signal(ctx, cmd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("traced server did not exit cleanly on SIGTERM: %v", err)
	}
	calls, err := strace.ParseFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	return strace.Network(calls)
}

// The raw servers make their C twins' network system calls, in the same
// order, on the same sockets, by family (strace.Parity, whose table is
// the only excuse: the shutdown that stops a Go server). Each C trace is
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
		{"iterative", accept, "socket bind listen getsockname accept recvfrom sendto recvfrom close accept close"},
		{"select", sel, "socket bind listen getsockname fcntl fcntl select accept fcntl fcntl accept select recvfrom sendto select recvfrom close select close"},
		{"poll", pol, "socket bind listen getsockname fcntl fcntl poll accept fcntl fcntl accept poll recvfrom sendto poll recvfrom close poll close"},
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

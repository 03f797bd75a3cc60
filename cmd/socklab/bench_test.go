package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/bench"
)

// BenchmarkUDPEcho measures round trips a second between one raw client and
// each UDP echo server, every server its own process as a user runs it:
// the raw Go server, its net twin, the C twin, and the recvmmsg/sendmmsg
// variants in Go and C. The client keeps a window of 64-byte datagrams in
// flight, so the server, not the client's waiting, sets the pace. Compare
// the sub-benchmarks of one run with each other, not across runs.
func BenchmarkUDPEcho(b *testing.B) {
	servers := []struct {
		name string
		argv func(b *testing.B) []string
	}{
		{"raw", func(*testing.B) []string { return socklab("udp-echo-server", "--quiet", "0") }},
		{"net", func(*testing.B) []string { return socklab("udp-echo-server", "--impl", "net", "--quiet", "0") }},
		{"c", func(b *testing.B) []string { return quietC(cBinary(b, "udp/testdata/echo_server.c"), "0") }},
		{"batch32/raw", func(*testing.B) []string { return socklab("udp-echo-server", "--batch", "32", "--quiet", "0") }},
		{"batch32/c", func(b *testing.B) []string {
			return quietC(cBinary(b, "udp/testdata/echo_server_batch.c"), "0", "32")
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			p := startServer(b, s.argv(b)...)
			defer p.stop(b, syscall.SIGTERM)
			lost := udpWindow(b, p.Port, 32, 64)
			if lost > b.N/100+1 {
				b.Errorf("%d of %d datagrams lost on loopback", lost, b.N)
			}
		})
	}
}

// udpWindow sends b.N datagrams of size bytes to 127.0.0.1:port with up to
// window of them unanswered, and returns how many were lost (a reply not
// seen within 200 ms). It reports round trips a second. The client is
// socklab bench's (internal/bench: recvmmsg/sendmmsg on epoll, every echo
// checked); its setup allocations count in allocs/op.
func udpWindow(b *testing.B, port, window, size int) (lost int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	r, err := bench.UDP(context.Background(), bench.Config{Server: [4]byte{127, 0, 0, 1}, Port: port,
		Window: window, Size: size, Count: int64(b.N), Duration: time.Hour, Timeout: 200 * time.Millisecond})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.MsgsPerSec, "rt/s")
	return int(r.Lost)
}

// quietC runs a C twin with SOCKLAB_QUIET set, its stand-in for --quiet.
// env(1) execs the program, so the PID the test signals is the server's.
func quietC(argv ...string) []string {
	return append([]string{"env", "SOCKLAB_QUIET=1"}, argv...)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/bench"
	"github.com/socklab/socklab/sys"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "[flags] udp|tcp <server_ip> <port>",
		"A load generator for the echo servers, on the raw layer: epoll, and\n"+
			"recvmmsg/sendmmsg for UDP. It keeps --window messages in flight on each of\n"+
			"--conns connections, checks every echo byte for byte, and prints messages and\n"+
			"bytes a second and the round-trip latency from an HDR histogram. A UDP\n"+
			"datagram unanswered for --timeout is counted lost. Not a tutorial program:\n"+
			"no C twin. Loopback (127.0.0.0/8) only, unless --allow-remote.\n"+
			"The tutorial's TCP servers send 32 bytes at a time with Nagle on: past 32\n"+
			"bytes a message waits for the client's delayed ACK; --quickack removes that.",
		[]string{"socklab bench udp 127.0.0.1 7777",
			"socklab bench tcp --conns 4 --size 32 --duration 2s --json 127.0.0.1 7777"}, stdout)
	conns := fs.Int("conns", bench.DefaultConns, fmt.Sprintf("connections (UDP: connected sockets), 1 to %d", bench.MaxConns))
	size := fs.Int("size", bench.DefaultSize, fmt.Sprintf("message bytes, %d (the header) to %d for UDP, %d for TCP; the UDP echo server's --bufsize must hold it",
		bench.HeaderSize, bench.MaxUDPSize, bench.MaxTCPSize))
	window := fs.Int("window", bench.DefaultWindow, fmt.Sprintf("messages in flight on each connection, 1 to %d", bench.MaxWindow))
	duration := fs.Duration("duration", bench.DefaultDuration, "stop sending after this long")
	count := fs.Int64("count", 0, "stop sending after this many messages in all (0: no limit)")
	timeout := fs.Duration("timeout", 0, fmt.Sprintf("UDP: a datagram unanswered this long is lost (default %v); TCP: a connection silent this long fails the run (default %v)",
		bench.DefaultUDPLoss, bench.DefaultTCPStall))
	quickack := fs.Bool("quickack", false, "TCP only: set TCP_QUICKACK after every recv")
	allowRemote := fs.Bool("allow-remote", false, "allow a target outside 127.0.0.0/8 (a host you own)")
	minEcho := fs.Float64("min-echo", 0, "fail (exit 1) when less than this percentage of the messages sent was echoed; nothing echoed always fails")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args, 3)
	if err != nil {
		return err
	}
	proto := pos[0]
	if proto != "udp" && proto != "tcp" {
		return usagef("invalid protocol %q: want udp or tcp", proto)
	}
	server, err := benchTarget(pos[1], *allowRemote)
	if err != nil {
		return err
	}
	port, err := parsePort(pos[2], false)
	if err != nil {
		return err
	}
	switch {
	case *conns < 1:
		return usagef("invalid --conns %d: want 1 to %d", *conns, bench.MaxConns)
	case *size < bench.HeaderSize:
		return usagef("invalid --size %d: want at least %d, the message header", *size, bench.HeaderSize)
	case *window < 1:
		return usagef("invalid --window %d: want 1 to %d", *window, bench.MaxWindow)
	case *duration <= 0:
		return usagef("invalid --duration %v: must be positive", *duration)
	case *count < 0:
		return usagef("invalid --count %d: must not be negative", *count)
	case *timeout < 0:
		return usagef("invalid --timeout %v: must be positive", *timeout)
	case *minEcho < 0 || *minEcho > 100:
		return usagef("invalid --min-echo %v: want a percentage, 0 to 100", *minEcho)
	case *quickack && proto != "tcp":
		return usagef("--quickack needs tcp: it is a TCP option")
	}
	cfg := bench.Config{Server: server, Port: port, Conns: *conns, Size: *size, Window: *window,
		Duration: *duration, Count: *count, Timeout: *timeout, QuickAck: *quickack, AllowRemote: *allowRemote}

	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	run := bench.UDP
	if proto == "tcp" {
		run = bench.TCP
	}
	r, err := run(ctx, cfg)
	switch {
	case errors.Is(err, bench.ErrConfig), errors.Is(err, bench.ErrNotLoopback):
		return usagef("%v", err)
	case errors.Is(err, context.Canceled) && r.Sent == 0:
		return errors.New("Interrupted before any message was sent")
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "Interrupted: the result covers the run until then")
	case err != nil:
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		writeBench(stdout, r)
	}
	return checkEchoed(r, *minEcho)
}

// checkEchoed fails a run in which nothing, or less than minEcho percent
// of what was sent, came back: a bench of a dead server is no result.
func checkEchoed(r bench.Result, minEcho float64) error {
	if r.Received == 0 {
		return fmt.Errorf("Nothing echoed: %d messages sent, 0 came back", r.Sent)
	}
	if pct := 100 * float64(r.Received) / float64(r.Sent); pct < minEcho {
		return fmt.Errorf("Only %.1f%% echoed (%d of %d), below --min-echo %v", pct, r.Received, r.Sent, minEcho)
	}
	return nil
}

// benchTarget parses server_ip and refuses what the bench cannot or may
// not load: a host name, IPv6 (package sys has no sockaddr_in6), an
// address outside 127.0.0.0/8 without --allow-remote.
func benchTarget(s string, allowRemote bool) ([4]byte, error) {
	if strings.Contains(s, ":") {
		return [4]byte{}, usagef("invalid server_ip %q: the raw layer speaks IPv4 only; use 127.0.0.1", s)
	}
	a, err := sys.InetAddr(s)
	if err != nil {
		return a, usagef("invalid server_ip %q: want a dotted-quad IPv4 address (no name lookup)", s)
	}
	if a[0] != 127 && !allowRemote {
		return a, usagef("refusing to bench %s: not a loopback address (127.0.0.0/8); pass --allow-remote for a host you own", s)
	}
	return a, nil
}

func writeBench(w io.Writer, r bench.Result) {
	conns := "connections"
	if r.Conns == 1 {
		conns = "connection"
	}
	fmt.Fprintf(w, "%s %s: %d %s, %d in flight on each, %d-byte messages, %.2fs\n",
		r.Proto, r.Server, r.Conns, conns, r.Window, r.Size, r.Elapsed.Seconds())
	fmt.Fprintf(w, "messages: %d sent, %d echoed", r.Sent, r.Received)
	if r.Proto == "udp" {
		fmt.Fprintf(w, ", %d lost, %d late", r.Lost, r.Late)
	}
	fmt.Fprintf(w, "\nrate:     %.0f msg/s, %.2f MB/s\n", r.MsgsPerSec, r.BytesPerSec/1e6)
	l := r.Latency
	fmt.Fprintf(w, "latency:  p50 %s, p99 %s, p99.9 %s, max %s\n", fmtLatency(l.P50), fmtLatency(l.P99), fmtLatency(l.P999), fmtLatency(l.Max))
	if r.Proto == "tcp" && l.P50 > 30*time.Millisecond && r.Size > 32 {
		fmt.Fprintln(w, "note:     a p50 near 40 ms is the server's Nagle waiting for delayed ACKs; try --quickack")
	}
}

// fmtLatency prints three significant digits: 41.2µs, 1.05ms, 2.00s.
func fmtLatency(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3gs", d.Seconds())
}

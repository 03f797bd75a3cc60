package main

import (
	"encoding/json"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/bench"
)

// benchLine matches the counts line of `socklab bench`.
var benchLine = regexp.MustCompile(`(?m)^messages: (\d+) sent, (\d+) echoed(?:, (\d+) lost, (\d+) late)?$`)

// benchCounts runs socklab bench and returns sent, echoed and lost.
func benchCounts(t *testing.T, args ...string) (r result, sent, echoed, lost int) {
	t.Helper()
	r = runCmd(t, 30*time.Second, socklab(append([]string{"bench"}, args...)...)...)
	if r.code != 0 {
		t.Fatalf("bench %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	m := benchLine.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("bench %v: no counts line in %q", args, r.stdout)
	}
	sent, _ = strconv.Atoi(m[1])
	echoed, _ = strconv.Atoi(m[2])
	lost, _ = strconv.Atoi(m[3])
	if !strings.Contains(r.stdout, "msg/s") || !strings.Contains(r.stdout, "p99.9 ") {
		t.Errorf("bench %v: no rate or latency in %q", args, r.stdout)
	}
	return r, sent, echoed, lost
}

// Every UDP and TCP echo server, raw, net and C, answers every message of
// a bounded bench at a small window, byte for byte.
func TestBenchServers(t *testing.T) {
	servers := []struct {
		name, proto string
		argv        func(t *testing.T) []string
	}{
		{"udp/raw", "udp", func(*testing.T) []string { return socklab("udp-echo-server", "--quiet", "0") }},
		{"udp/net", "udp", func(*testing.T) []string { return socklab("udp-echo-server", "--impl", "net", "--quiet", "0") }},
		{"udp/c", "udp", func(t *testing.T) []string { return quietC(cBinary(t, "udp/testdata/echo_server.c"), "0") }},
		{"udp/batch/raw", "udp", func(*testing.T) []string { return socklab("udp-echo-server", "--batch", "8", "--quiet", "0") }},
		{"tcp/thread/raw", "tcp", func(*testing.T) []string {
			return socklab("tcp-echo-server", "--mode", "thread", "--quiet", "0")
		}},
		{"tcp/thread/net", "tcp", func(*testing.T) []string {
			return socklab("tcp-echo-server", "--mode", "thread", "--impl", "net", "--quiet", "0")
		}},
		{"tcp/thread/c", "tcp", func(t *testing.T) []string { return quietC(cBinaryPthread(t, "tcp/testdata/thread.c"), "0") }},
		{"tcp/poll/raw", "tcp", func(*testing.T) []string { return socklab("tcp-echo-server", "--mode", "poll", "--quiet", "0") }},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t)...)
			defer p.stop(t, syscall.SIGTERM)
			args := []string{s.proto, "--conns", "2", "--window", "4", "--count", "2000", "--duration", "20s",
				"127.0.0.1", strconv.Itoa(p.Port)}
			if s.proto == "tcp" {
				args = append(args, "--quickack") // the servers send 32 bytes at a time with Nagle on
			}
			_, sent, echoed, lost := benchCounts(t, args...)
			if sent != 2000 || echoed != 2000 || lost != 0 {
				t.Errorf("sent %d, echoed %d, lost %d; want 2000 echoed", sent, echoed, lost)
			}
		})
	}
}

func TestBenchJSON(t *testing.T) {
	p := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	defer p.stop(t, syscall.SIGTERM)
	r := runCmd(t, 30*time.Second, socklab("bench", "udp", "--json", "--count", "500", "--size", "100",
		"127.0.0.1", strconv.Itoa(p.Port))...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v in %q", err, r.stdout)
	}
	if res.Proto != "udp" || res.Size != 100 || res.Sent != 500 || res.Received != 500 ||
		res.MsgsPerSec <= 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P999 {
		t.Errorf("result %+v", res)
	}
}

// udpMangler is an in-test UDP echo server that passes each datagram
// through mangle (nil: no reply). It stops at cleanup.
func udpMangler(t *testing.T, mangle func(n int, p []byte) []byte) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for n := 1; ; n++ {
			m, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if out := mangle(n, buf[:m]); out != nil {
				c.WriteToUDP(out, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// A wrong echo fails the run: exit 1, one line.
func TestBenchWrongEcho(t *testing.T) {
	var old []byte
	for _, tc := range []struct {
		name   string
		mangle func(n int, p []byte) []byte
	}{
		{"flipped byte", func(n int, p []byte) []byte {
			if n == 100 {
				p[40] ^= 0x20
			}
			return p
		}},
		{"old message", func(n int, p []byte) []byte {
			if n == 100 {
				return old
			}
			old = append(old[:0], p...)
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := udpMangler(t, tc.mangle)
			r := runCmd(t, 30*time.Second, socklab("bench", "udp", "--count", "1000", "--window", "4",
				"127.0.0.1", strconv.Itoa(port))...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "wrong echo on connection 0: ") {
				t.Errorf("exit %d, stderr %q; want 1 and one \"wrong echo\" line", r.code, r.stderr)
			}
		})
	}
}

// A server that drops every tenth datagram: the bench counts them lost
// after --timeout and finishes.
func TestBenchLoss(t *testing.T) {
	port := udpMangler(t, func(n int, p []byte) []byte {
		if n%10 == 0 {
			return nil
		}
		return p
	})
	r, sent, echoed, lost := benchCounts(t, "udp", "--count", "300", "--window", "4", "--timeout", "50ms",
		"127.0.0.1", strconv.Itoa(port))
	if sent != 300 || echoed != 270 || lost != 30 {
		t.Errorf("sent %d, echoed %d, lost %d; want 300, 270, 30", sent, echoed, lost)
	}
	if r.elapsed > 10*time.Second {
		t.Errorf("took %v", r.elapsed)
	}
}

func TestBenchRefused(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close() // nothing listens there now, on UDP nor (most likely) TCP
	for _, proto := range []string{"udp", "tcp"} {
		r := runCmd(t, 10*time.Second, socklab("bench", proto, "--duration", "2s", "127.0.0.1", port)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 1 || len(lines) != 1 || !strings.HasSuffix(lines[0], ": connection refused") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and one \"connection refused\" line", proto, r.code, r.stderr)
		}
	}
}

// Bad input exits 2 before anything is sent, with one line saying what
// is wrong (the flag package's own errors add the USAGE line on stderr and
// the help text on stdout, as for every subcommand).
func TestBenchBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"udp", "10.1.2.3", "7"}, "refusing to bench 10.1.2.3: not a loopback address"},
		{[]string{"tcp", "192.168.0.1", "7"}, "refusing to bench 192.168.0.1: not a loopback address"},
		{[]string{"udp", "::1", "7"}, "IPv4 only"},
		{[]string{"udp", "localhost", "7"}, "dotted-quad"},
		{[]string{"sctp", "127.0.0.1", "7"}, "invalid protocol"},
		{[]string{"udp", "127.0.0.1", "0"}, "invalid port"},
		{[]string{"udp", "127.0.0.1", "70000"}, "invalid port"},
		{[]string{"udp", "--conns", "0", "127.0.0.1", "7"}, "invalid --conns 0"},
		{[]string{"udp", "--conns", "20000", "127.0.0.1", "7"}, "conns 20000: want 1 to 10000"},
		{[]string{"udp", "--size", "8", "127.0.0.1", "7"}, "invalid --size 8"},
		{[]string{"udp", "--size", "70000", "127.0.0.1", "7"}, "size 70000"},
		{[]string{"udp", "--window", "0", "127.0.0.1", "7"}, "invalid --window 0"},
		{[]string{"udp", "--duration", "0s", "127.0.0.1", "7"}, "invalid --duration"},
		{[]string{"udp", "--count=-1", "127.0.0.1", "7"}, "invalid --count -1"},
		{[]string{"udp", "--timeout=-1s", "127.0.0.1", "7"}, "invalid --timeout"},
		{[]string{"udp", "--quickack", "127.0.0.1", "7"}, "--quickack needs tcp"},
		{[]string{"tcp", "--conns", "1000", "--window", "1000", "--size", "10000", "127.0.0.1", "7"}, "MiB"},
		{[]string{"udp", "--bogus", "127.0.0.1", "7"}, "flag provided but not defined"},
		{[]string{"udp", "--duration", "soon", "127.0.0.1", "7"}, "invalid value"},
		{[]string{"udp", "127.0.0.1"}, "expected 3 arguments"},
	} {
		r := runCmd(t, 10*time.Second, socklab(append([]string{"bench"}, tc.args...)...)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || !strings.Contains(lines[0], tc.want) || (len(lines) == 1 && r.stdout != "") ||
			len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "USAGE: socklab bench ")) {
			t.Errorf("bench %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// --allow-remote lets a target outside 127.0.0.0/8 through. 0.0.0.0 is
// one that stays on this host: Linux connects it to the local machine, so
// the traffic still goes over lo.
func TestBenchAllowRemote(t *testing.T) {
	p := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	defer p.stop(t, syscall.SIGTERM)
	port := strconv.Itoa(p.Port)
	r := runCmd(t, 10*time.Second, socklab("bench", "udp", "--count", "100", "0.0.0.0", port)...)
	if r.code != 2 || !strings.Contains(r.stderr, "--allow-remote") {
		t.Errorf("without --allow-remote: exit %d, stderr %q; want 2 and a refusal", r.code, r.stderr)
	}
	_, sent, echoed, _ := benchCounts(t, "udp", "--allow-remote", "--count", "100", "0.0.0.0", port)
	if sent != 100 || echoed != 100 {
		t.Errorf("with --allow-remote: sent %d, echoed %d; want 100", sent, echoed)
	}
}

// A bench of a server that echoes nothing, or less than --min-echo asks,
// prints its counts and exits 1.
func TestBenchMinEcho(t *testing.T) {
	silent := udpMangler(t, func(int, []byte) []byte { return nil })
	r := runCmd(t, 30*time.Second, socklab("bench", "udp", "--count", "50", "--timeout", "50ms", "127.0.0.1", strconv.Itoa(silent))...)
	if r.code != 1 || !strings.Contains(r.stderr, "Nothing echoed: 50 messages sent, 0 came back") || !benchLine.MatchString(r.stdout) {
		t.Errorf("all lost: exit %d, stdout %q, stderr %q; want 1, the counts, and why", r.code, r.stdout, r.stderr)
	}
	lossy := udpMangler(t, func(n int, p []byte) []byte {
		if n%10 == 0 {
			return nil
		}
		return p
	})
	for _, tc := range []struct {
		min  string
		code int
	}{{"95", 1}, {"80", 0}} {
		r := runCmd(t, 30*time.Second, socklab("bench", "udp", "--count", "100", "--window", "4", "--timeout", "50ms",
			"--min-echo", tc.min, "127.0.0.1", strconv.Itoa(lossy))...)
		if r.code != tc.code || (tc.code == 1 && !strings.Contains(r.stderr, "Only 90.0% echoed (90 of 100), below --min-echo 95")) {
			t.Errorf("--min-echo %s with 10%% loss: exit %d, stderr %q; want %d", tc.min, r.code, r.stderr, tc.code)
		}
	}
}

// A listener whose backlog is full drops the handshakes of the clients
// beyond it: the bench gives up on them within bench.ConnectTimeout,
// saying why, instead of waiting out the kernel's SYN retries; and a
// SIGTERM while it connects ends it within that bound.
func TestBenchConnectTimeout(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // one queued connection, never accepted
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	r := runCmd(t, 30*time.Second, socklab("bench", "tcp", "--conns", "4", "--duration", "1s", "127.0.0.1", port)...)
	if r.code != 1 || !strings.Contains(r.stderr, "no answer to the handshake within") {
		t.Errorf("full backlog: exit %d, stderr %q; want 1 and the handshake timeout", r.code, r.stderr)
	}
	if r.elapsed > 4*bench.ConnectTimeout {
		t.Errorf("gave up after %v", r.elapsed)
	}
	cmd := exec.Command(socklabBin, "bench", "tcp", "--conns", "50", "127.0.0.1", port)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // into the second connect, which waits
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(4 * bench.ConnectTimeout):
		cmd.Process.Kill()
		<-waited
		t.Fatalf("still connecting %v after SIGTERM", 4*bench.ConnectTimeout)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stderr.String(), "Interrupted before any message was sent") {
		t.Errorf("SIGTERM while connecting: exit %d after %v, stderr %q", code, time.Since(start), stderr.String())
	}
}

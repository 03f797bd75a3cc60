package main

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Every input a user can get wrong: one line that says why, exit 2 for
// usage and 1 for runtime failures, never a hang.
func TestUDPBadInput(t *testing.T) {
	busy := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	busyPort := strconv.Itoa(busy.Port)
	usageClient := `^expected 3 arguments, got \d\nUSAGE: socklab udp-echo-client \[flags\] <server_ip> <word> <port>\n$`
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string // regexp over the whole of stderr
	}{
		{"no command", nil, 2, `^USAGE: socklab <command>`},
		{"unknown command", []string{"udp-echo-klient"}, 2, `^socklab: unknown command "udp-echo-klient"; run 'socklab help' for the list\n$`},
		{"client too few", []string{"udp-echo-client", "127.0.0.1", "x"}, 2, usageClient},
		{"client too many", []string{"udp-echo-client", "127.0.0.1", "x", "7", "8"}, 2, usageClient},
		{"server no port", []string{"udp-echo-server"}, 2, `^expected 1 argument, got 0\nUSAGE: socklab udp-echo-server \[flags\] <port>\n$`},
		{"port abc", []string{"udp-echo-client", "127.0.0.1", "x", "abc"}, 2, `^invalid port "abc": want a number from 1 to 65535\n$`},
		{"port -1", []string{"udp-echo-client", "127.0.0.1", "x", "-1"}, 2, `^invalid port "-1": want a number from 1 to 65535\n$`},
		{"port 70000", []string{"udp-echo-client", "127.0.0.1", "x", "70000"}, 2, `^invalid port "70000": want a number from 1 to 65535\n$`},
		{"client port 0", []string{"udp-echo-client", "127.0.0.1", "x", "0"}, 2, `^invalid port "0": a client needs the server's port, 1 to 65535\n$`},
		{"server port abc", []string{"udp-echo-server", "abc"}, 2, `^invalid port "abc": want a number from 0 \(any free port\) to 65535\n$`},
		{"server port -1", []string{"udp-echo-server", "-1"}, 2, `^invalid port "-1": want a number from 0 \(any free port\) to 65535\n$`},
		{"raw localhost", []string{"udp-echo-client", "localhost", "x", "7"}, 2, `^invalid server_ip "localhost": the raw client takes a dotted-quad IPv4 address and does no name lookup \(--impl net resolves names\)\n$`},
		{"raw 1.2.3", []string{"udp-echo-client", "1.2.3", "x", "7"}, 2, `^invalid server_ip "1.2.3": the raw client takes a dotted-quad`},
		{"unknown impl", []string{"udp-echo-client", "--impl", "cgo", "127.0.0.1", "x", "7"}, 2, `^invalid --impl "cgo": want raw or net\n$`},
		{"unknown flag", []string{"udp-echo-server", "--frobnicate", "0"}, 2, `^flag provided but not defined: -frobnicate\nUSAGE: socklab udp-echo-server`},
		{"bufsize 0", []string{"udp-echo-server", "--bufsize", "0", "0"}, 2, `^invalid --bufsize 0: want 1 to 65507\n$`},
		{"bufsize huge", []string{"udp-echo-client", "--bufsize", "70000", "127.0.0.1", "x", "7"}, 2, `^invalid --bufsize 70000: want 1 to 65507\n$`},
		{"batch with net", []string{"udp-echo-server", "--impl", "net", "--batch", "8", "0"}, 2, `^--batch needs --impl raw`},
		{"rate negative", []string{"udp-echo-server", "--rate", "-1", "0"}, 2, `^invalid --rate -1: want 0 \(no bound\) to 1000000\n$`},
		{"rate huge", []string{"udp-lengthy-server", "--rate", "1000001", "0"}, 2, `^invalid --rate 1000001: want 0 \(no bound\) to 1000000\n$`},
		{"rate without guard", []string{"udp-echo-server", "--no-loop-guard", "--rate", "5", "0"}, 2, `^--rate is part of the loop guard, which --no-loop-guard turns off\n$`},
		{"batch too big", []string{"udp-echo-server", "--batch", "5000", "0"}, 2, `^invalid --batch 5000: want 1 to 1024\n$`},
		{"negative timeout", []string{"udp-echo-client", "--timeout=-1s", "127.0.0.1", "x", "7"}, 2, `^invalid --timeout -1s: must not be negative\n$`},
		{"negative timeout, spaced", []string{"udp-echo-client", "--timeout", "-1s", "127.0.0.1", "x", "7"}, 2, `^invalid --timeout -1s: must not be negative\n$`},
		{"flag without its value", []string{"udp-echo-client", "127.0.0.1", "x", "7", "--timeout"}, 2, `^flag needs an argument: -timeout\nUSAGE: socklab udp-echo-client`},
		{"retries without timeout", []string{"udp-echo-client", "--retries", "2", "127.0.0.1", "x", "7"}, 2, `^--retries needs --timeout`},
		{"retries unbounded", []string{"udp-echo-client", "--timeout", "1s", "--retries", "1000000", "127.0.0.1", "x", "7"}, 2, `^invalid --retries 1000000: want 0 to 100\n$`},
		{"port in use raw", []string{"udp-echo-server", busyPort}, 1, `^Failed to bind server socket: address already in use\n$`},
		{"port in use net", []string{"udp-echo-server", "--impl", "net", busyPort}, 1, `^Failed to bind server socket: address already in use\n$`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, 10*time.Second, socklab(c.args...)...)
			if r.code != c.code {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			if !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
				t.Errorf("stderr %q does not match %q", r.stderr, c.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q: a mistake gets its reason on stderr, not the help text", r.stdout)
			}
		})
	}
	if code := busy.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("busy server exit status %d", code)
	}
}

// No server, a timeout and two retries: three tries, one line, exit 1,
// bounded in time.
func TestUDPClientGivesUp(t *testing.T) {
	// A bound socket that never answers: the port is taken, so no other
	// process answers either, and nothing sends ICMP back.
	silent := startServer(t, socklab("udp-echo-server", "--bufsize", "1", "0")...)
	defer silent.stop(t, syscall.SIGTERM)
	for _, impl := range []string{"raw", "net"} {
		t.Run(impl, func(t *testing.T) {
			r := runCmd(t, 10*time.Second, socklab("udp-echo-client", "--impl", impl, "--timeout", "300ms", "--retries", "2",
				"127.0.0.1", "longer than one byte", strconv.Itoa(silent.Port))...)
			if r.code != 1 {
				t.Errorf("exit status %d, want 1; stderr %q", r.code, r.stderr)
			}
			if !regexp.MustCompile(`^no reply from 127\.0\.0\.1:\d+ after 3 tries of 300ms\n$`).MatchString(r.stderr) {
				t.Errorf("stderr %q, want one line saying 3 tries", r.stderr)
			}
			if r.elapsed < 900*time.Millisecond {
				t.Errorf("gave up after %v, before 3 x 300ms", r.elapsed)
			}
		})
	}
	if !strings.Contains(silent.Stderr(), "truncated") {
		t.Errorf("the 1-byte server did not report the truncated datagrams: %s", silent.Stderr())
	}
}

// The behaviour table: every client (raw, net, C) against every server
// (raw, net, C), as processes on 127.0.0.1 with port 0. The reply equals
// the word, the server's stderr names the client, and the server exits 0
// on SIGTERM (raw, C) or SIGINT (net).
func TestUDPEchoBehaviour(t *testing.T) {
	servers := []struct {
		name string
		argv []string
		sig  syscall.Signal
	}{
		{"raw", socklab("udp-echo-server", "0"), syscall.SIGTERM},
		{"net", socklab("udp-echo-server", "--impl", "net", "0"), syscall.SIGINT},
		{"c", []string{cBinary(t, "udp/testdata/echo_server.c"), "0"}, syscall.SIGTERM},
	}
	clients := []struct {
		name string
		argv func(word, port string) []string
	}{
		{"raw", func(w, p string) []string { return socklab("udp-echo-client", "127.0.0.1", w, p) }},
		{"net", func(w, p string) []string { return socklab("udp-echo-client", "--impl", "net", "127.0.0.1", w, p) }},
		{"c", func(w, p string) []string {
			return []string{cBinary(t, "udp/testdata/echo_client.c"), "127.0.0.1", w, p}
		}},
	}
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			srv := startServer(t, s.argv...)
			port := strconv.Itoa(srv.Port)
			for _, c := range clients {
				word := "word from " + c.name
				r := runCmd(t, 10*time.Second, c.argv(word, port)...)
				if r.code != 0 || r.stdout != "Received: "+word+"\n" {
					t.Errorf("%s client -> %s server: exit %d, stdout %q, stderr %q", c.name, s.name, r.code, r.stdout, r.stderr)
				}
			}
			if code := srv.stop(t, s.sig); code != 0 {
				t.Errorf("%s server: exit status %d after %v, want 0", s.name, code, s.sig)
			}
			if n := strings.Count(srv.Stderr(), "Client connected: 127.0.0.1\n"); n != len(clients) {
				t.Errorf("%s server named %d clients, want %d:\n%s", s.name, n, len(clients), srv.Stderr())
			}
		})
	}
}

// Every subcommand's -h: its usage text once on stdout, with examples,
// and exit status 0.
func TestHelp(t *testing.T) {
	for name := range commands() {
		r := runCmd(t, 10*time.Second, socklab(name, "-h")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "USAGE: socklab "+name+" ") ||
			strings.Count(r.stdout, "USAGE:") != 1 || !strings.Contains(r.stdout, "\nExamples:\n") || r.stderr != "" {
			t.Errorf("socklab %s -h: exit %d, stdout %q, stderr %q", name, r.code, r.stdout, r.stderr)
		}
	}
}

// SIGTERM during a flood: every echo server, Go or C, stops within a
// moment, exits 0, and says nothing about the datagrams still queued. The
// raw server used to serve its queue for as long as the flood went on,
// and to print a "Mismatch ... broken pipe" line for each datagram it
// took after its socket was shut down for writing too.
func TestUDPEchoStopUnderFlood(t *testing.T) {
	for name, argv := range map[string]func() []string{
		"raw":     func() []string { return socklab("udp-echo-server", "--quiet", "0") },
		"batch":   func() []string { return socklab("udp-echo-server", "--batch", "32", "--quiet", "0") },
		"net":     func() []string { return socklab("udp-echo-server", "--impl", "net", "--quiet", "0") },
		"c":       func() []string { return quietC(cBinary(t, "udp/testdata/echo_server.c"), "0") },
		"c-batch": func() []string { return quietC(cBinary(t, "udp/testdata/echo_server_batch.c"), "0", "32") },
	} {
		t.Run(name, func(t *testing.T) {
			p := startServer(t, argv()...)
			fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
			if err != nil {
				t.Fatal(err)
			}
			defer sys.Close(fd)
			to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, p.Port)
			stopFlood := sendWhile(fd, &to, "flood", 0)
			time.Sleep(200 * time.Millisecond)
			code, took := p.timedStop(t, syscall.SIGTERM)
			n := stopFlood()
			if code != 0 {
				t.Errorf("exit status %d on SIGTERM during a flood\n%s", code, p.Stderr())
			}
			// Generous: a loaded machine took 2.3 s; a server serving its
			// queue for as long as the flood goes on is killed at 5 s.
			if took > 4*time.Second {
				t.Errorf("stopped %v after SIGTERM during a flood, want under 4 s", took.Round(time.Millisecond))
			}
			if out := p.Stderr(); strings.Count(out, "\n") > 1 {
				t.Errorf("the server said more than its port:\n%.2000s", out)
			}
			t.Logf("stopped in %v; %d datagrams sent", took.Round(time.Millisecond), n)
		})
	}
}

// sendWhile sends payload to to from fd every interval (0: as fast as it
// goes, MSG_DONTWAIT), at most 5 000 000 times and for 10 s, until the
// returned function is called; that returns how many were sent.
func sendWhile(fd int, to *sys.SockaddrIn, payload string, every time.Duration) func() int {
	done := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		end := time.Now().Add(10 * time.Second)
		for ; n < 5000000 && time.Now().Before(end); n++ {
			select {
			case <-done:
				return
			default:
			}
			if every > 0 {
				time.Sleep(every)
			}
			sys.Sendto(fd, []byte(payload), unix.MSG_DONTWAIT, to)
		}
	}()
	return func() int { close(done); return <-sent }
}

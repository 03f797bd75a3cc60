package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// stressC builds the stress client's C twin.
func stressC(t testing.TB) string {
	t.Helper()
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "a C compiler (apt-get install gcc)", err)
	}
	path, err := crefs.Build(filepath.Join("..", "..", "udp", "testdata", "stress_client.c"), cref.Pthread)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// stressClients runs each stress client, as a user runs it: socklab's raw
// and net clients and the C twin, with the same word, port, client count
// and timeout (0 waits forever).
var stressClients = []struct {
	name string
	argv func(t testing.TB, word string, port, clients int, timeout time.Duration) []string
}{
	{"raw", goStress("raw")},
	{"net", goStress("net")},
	{"c", func(t testing.TB, word string, port, clients int, timeout time.Duration) []string {
		return []string{stressC(t), "127.0.0.1", word, strconv.Itoa(port), strconv.Itoa(clients), strconv.FormatInt(timeout.Milliseconds(), 10)}
	}},
}

func goStress(impl string) func(testing.TB, string, int, int, time.Duration) []string {
	return func(_ testing.TB, word string, port, clients int, timeout time.Duration) []string {
		return socklab("udp-stress-client", "--impl", impl, "--clients", strconv.Itoa(clients), "--timeout", timeout.String(),
			"127.0.0.1", word, strconv.Itoa(port))
	}
}

var stressTimeLine = regexp.MustCompile(`^\d+\.\d\d seconds$`)

// stressOutput splits a run's output into its lines, sorted (the replies
// come in any order), with the time, if stdout ends in it, dropped.
func stressOutput(r result) (stdout, stderr string, took time.Duration, timed bool) {
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.stdout == "" {
		lines = nil
	}
	if len(lines) > 0 && stressTimeLine.MatchString(lines[len(lines)-1]) {
		secs, _ := strconv.ParseFloat(strings.Fields(lines[len(lines)-1])[0], 64)
		took, timed = time.Duration(secs*float64(time.Second)), true
		lines = lines[:len(lines)-1]
	}
	errs := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.stderr == "" {
		errs = nil
	}
	if len(errs) > 0 { // the tally comes last, after the clients' own reports
		errs = append(sortedCopy(errs[:len(errs)-1]), errs[len(errs)-1])
	}
	return strings.Join(sortedCopy(lines), "\n"), strings.Join(errs, "\n"), took, timed
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// The three stress clients print the same lines and exit alike: against
// a threaded lengthy server each gets every reply right and its requests
// overlap, and the time comes last; against a server that gets one right,
// one too long and one lost, each names the two and prints the time.
// When no reply is right, one line says that every client failed and why
// the first did, and no time is printed: against an echo server (no
// upper-casing) and against a silent one. Only the order of the clients'
// lines may differ.
func TestUDPStressClients(t *testing.T) {
	const delay = 300 * time.Millisecond
	upper := startServer(t, socklab("udp-lengthy-server", "--mode", "thread", "--delay", delay.String(), "--quiet", "0")...)
	defer upper.stop(t, syscall.SIGTERM)
	echo := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	defer echo.stop(t, syscall.SIGTERM)
	silent := silentPort(t)
	partial := partialServer(t)
	q := regexp.QuoteMeta

	var rightLines, wrongLines []string
	for n := range 5 {
		rightLines = append(rightLines, fmt.Sprintf("Received: HELLO WORLD [%d]", n))
	}
	for n := range 2 {
		wrongLines = append(wrongLines, fmt.Sprintf("Received: hi [%d]", n))
	}
	for _, c := range []struct {
		name          string
		port, clients int
		word          string
		timeout       time.Duration
		code          int
		stdout        string
		stderr        string // a pattern
		timed         bool   // stdout ends in the time
	}{
		{"right", upper.Port, 5, "Hello world", 0, 0, strings.Join(rightLines, "\n"), "", true},
		{"partial", partial, 3, "some", time.Second, 1, "Received: SOME [0]",
			q("[1]: reply longer than the buffer: ") + "(300 bytes, )?" + q("buffer 255\n") +
				q(fmt.Sprintf("[2]: no reply from 127.0.0.1:%d before the timeout\n", partial)) +
				q("1 of 3 replies right: no reply for [2]; wrong reply for [1]"), true},
		{"wrong", echo.Port, 2, "hi", 5 * time.Second, 1, strings.Join(wrongLines, "\n"),
			q("every one of the 2 clients failed; first: wrong reply ") + `"hi \[([01])\]", want "HI \[([01])\]"`, false},
		{"lost", silent, 3, "anyone", 300 * time.Millisecond, 1, "",
			q(fmt.Sprintf("every one of the 3 clients failed; first: no reply from 127.0.0.1:%d before the timeout", silent)), false},
	} {
		for _, k := range stressClients {
			t.Run(c.name+"/"+k.name, func(t *testing.T) {
				r := runCmd(t, 30*time.Second, k.argv(t, c.word, c.port, c.clients, c.timeout)...)
				stdout, stderr, took, timed := stressOutput(r)
				if r.code != c.code || stdout != c.stdout || !regexp.MustCompile(`^`+c.stderr+`$`).MatchString(stderr) || timed != c.timed {
					t.Errorf("exit %d, want %d; timed %v, want %v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s",
						r.code, c.code, timed, c.timed, r.stdout, c.stdout, stderr, c.stderr)
				}
				if c.name == "right" && took > 4*delay {
					t.Errorf("%d requests to a threaded server took %v, %v each: they did not overlap", c.clients, took, delay)
				}
			})
		}
	}
}

// silentPort returns the port of a socket bound on 127.0.0.1 that never
// answers (and so draws no ICMP error either).
func silentPort(t *testing.T) int {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(fd) })
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := sys.Bind(fd, &sa); err != nil {
		t.Fatal(err)
	}
	n := sys.SizeofSockaddrIn
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	return sa.PortOf()
}

// partialServer returns the port of a UDP server on 127.0.0.1 that
// answers client [0] right after 200 ms, client [1] at once with 300
// bytes (more than its buffer) and nobody else: [1]'s report comes
// before any right reply.
func partialServer(t *testing.T) int {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	n := sys.SizeofSockaddrIn
	if err := sys.Bind(fd, &sa); err != nil {
		sys.Close(fd)
		t.Fatal(err)
	}
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		sys.Close(fd)
		t.Fatal(err)
	}
	var stopped atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for range 1000 { // a few runs' requests
			var from sys.SockaddrIn
			fromlen := sys.SizeofSockaddrIn
			got, err := sys.Recvfrom(fd, buf, 0, &from, &fromlen)
			if err != nil || stopped.Load() {
				return
			}
			switch msg := string(buf[:got]); {
			case strings.HasSuffix(msg, " [0]"):
				wg.Go(func() {
					time.Sleep(200 * time.Millisecond)
					sys.Sendto(fd, []byte(strings.ToUpper(msg)), 0, &from)
				})
			case strings.HasSuffix(msg, " [1]"):
				sys.Sendto(fd, make([]byte, 300), 0, &from)
			}
		}
	})
	t.Cleanup(func() {
		stopped.Store(true)
		sys.Shutdown(fd, unix.SHUT_RDWR) // wakes the blocked recvfrom
		wg.Wait()
		sys.Close(fd)
	})
	return sa.PortOf()
}

// The C twin refuses what socklab refuses, with exit status 2.
func TestUDPStressBadInput(t *testing.T) {
	long := strings.Repeat("w", 252)
	for _, c := range []struct {
		name        string
		goArgs      []string
		cArgs       []string
		goErr, cErr string
	}{
		{"name", []string{"localhost", "x", "7"}, []string{"localhost", "x", "7"}, `^invalid server "localhost"`, `^invalid server "localhost"`},
		{"port 0", []string{"127.0.0.1", "x", "0"}, []string{"127.0.0.1", "x", "0"}, `^invalid port "0": a client needs`, `^invalid port "0": a client needs`},
		{"port x", []string{"127.0.0.1", "x", "x"}, []string{"127.0.0.1", "x", "x"}, `^invalid port "x": want a number from 1 to 65535`, `^invalid port "x": want a number from 1 to 65535`},
		{"clients 0", []string{"--clients", "0", "127.0.0.1", "x", "7"}, []string{"127.0.0.1", "x", "7", "0"}, `^invalid --clients 0: want 1 to 10000`, `^invalid clients 0: want 1 to 10000`},
		{"timeout", []string{"--timeout=-1s", "127.0.0.1", "x", "7"}, []string{"127.0.0.1", "x", "7", "1", "-1"}, `must not be negative`, `must not be negative`},
		{"long word", []string{"127.0.0.1", long, "7"}, []string{"127.0.0.1", long, "7"}, `^word of 252 bytes: with " \[n\]"`, `^word of 252 bytes: with " \[n\]"`},
		{"too few", []string{"127.0.0.1", "x"}, []string{"127.0.0.1", "x"}, `^expected 3 arguments, got 2\nUSAGE:`, `^USAGE: `},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, run := range []struct {
				argv []string
				want string
			}{{socklab(append([]string{"udp-stress-client"}, c.goArgs...)...), c.goErr}, {append([]string{stressC(t)}, c.cArgs...), c.cErr}} {
				r := runCmd(t, 10*time.Second, run.argv...)
				if r.code != 2 || !regexp.MustCompile(run.want).MatchString(r.stderr) || r.stdout != "" {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", run.argv, r.code, r.stdout, r.stderr, run.want)
				}
			}
		})
	}
}

// The raw stress client makes its C twin's network system calls, client
// by client (strace.Serialize: the threads race each other, in C as in
// Go), with and without a timeout; the C trace is checked against what
// each client must do, so that a blind comparison cannot pass.
func TestUDPStressParity(t *testing.T) {
	srv := startServer(t, socklab("udp-lengthy-server", "--mode", "thread", "--delay", "20ms", "--quiet", "0")...)
	defer srv.stop(t, syscall.SIGTERM)
	const clients = 3
	for _, c := range []struct {
		name    string
		timeout time.Duration
		client  string // one client's families
	}{
		{"forever", 0, "socket sendto recvfrom close"},
		{"timeout", 5 * time.Second, "socket setsockopt sendto recvfrom close"},
	} {
		t.Run(c.name, func(t *testing.T) {
			trace := func(argv []string) []strace.Step {
				if err := strace.Available(); err != nil {
					testenv.Missing(t, "strace (apt-get install strace)", err)
				}
				return strace.Serialize(traceRun(t, argv), true)
			}
			cs := trace(stressClients[2].argv(t, "parity", srv.Port, clients, c.timeout))
			raw := trace(stressClients[0].argv(t, "parity", srv.Port, clients, c.timeout))
			want := strings.TrimSpace(strings.Repeat(c.client+" ", clients))
			if got := families(cs); got != want {
				t.Fatalf("C client: %s\nwant %s", got, want)
			}
			if d := strace.Parity(raw, cs); len(d) > 0 {
				t.Errorf("raw client differs from its C twin:\n%s\nraw: %v\nC:   %v", strings.Join(d, "\n"), strace.Keys(raw), strace.Keys(cs))
			}
		})
	}
}

// compare's stress client: raw and C make the same calls row by row, one
// block of socket, sendto, recvfrom, close per client, however their
// threads ran; the net twin differs only in ways the table explains.
func TestCompareUDPStressClient(t *testing.T) {
	needCompareTools(t)
	c := runCompareJSON(t, "udp-stress-client", "--clients", "3")
	var cols []string
	for _, col := range c.Columns {
		cols = append(cols, col.Name)
	}
	if strings.Join(cols, " ") != "raw net c" || len(c.Missing) != 0 {
		t.Fatalf("columns %v, missing %v; want raw net c", cols, c.Missing)
	}
	checkRawCAligned(t, c, true)
	if c.Unexplained != 0 {
		t.Errorf("%d unexplained differences", c.Unexplained)
	}
	var raw []string
	for _, row := range c.Rows {
		if s, ok := row.Steps["raw"]; ok {
			raw = append(raw, s.Family)
		}
	}
	if got, want := strings.Join(raw, " "), strings.TrimSpace(strings.Repeat("socket sendto recvfrom close ", 3)); got != want {
		t.Errorf("raw steps: %s\nwant %s", got, want)
	}
	if !c.has("net", "twin only", "recvmsg", "", "net-io") || !c.has("net", "raw only", "recvfrom", "", "net-io") {
		t.Errorf("the net twin's recvmsg for recvfrom is not shown and explained")
	}
}

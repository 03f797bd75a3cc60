package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/tcp"
	"github.com/socklab/socklab/udp"
)

// blockedWriter blocks every Write until release is closed, then takes
// everything; fail makes every write fail with EPIPE instead.
type blockedWriter struct {
	release chan struct{}
	fail    bool
	mu      sync.Mutex
	got     bytes.Buffer
	writes  int
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.writes++
	b.mu.Unlock()
	if b.fail {
		return 0, syscall.EPIPE
	}
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

var droppedLine = regexp.MustCompile(`(?m)^socklab: (\d+) log lines dropped: stderr did not take them$`)

// While stderr takes nothing, Write neither blocks nor loses a line
// uncounted: every line is written or counted once stderr takes lines
// again.
func TestLogWriterStalled(t *testing.T) {
	out := &blockedWriter{release: make(chan struct{})}
	w := newLogWriter(out)
	const lines = 5000 // 140 KiB of lines: more than the buffer holds
	start := time.Now()
	for i := range lines {
		fmt.Fprintf(w, "Client connected: 127.0.0.%d\n", i%250)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d writes to a stalled log took %v", lines, d)
	}
	close(out.release)
	w.Close()
	got := out.got.String()
	written := strings.Count(got, "Client connected: ")
	dropped := 0
	for _, m := range droppedLine.FindAllStringSubmatch(got, -1) {
		n, _ := strconv.Atoi(m[1])
		dropped += n
	}
	if dropped == 0 || written+dropped != lines {
		t.Errorf("%d lines written, %d reported dropped; want %d in all, some dropped", written, dropped, lines)
	}
	fmt.Fprintln(w, "after Close")
	if strings.Contains(out.got.String(), "after Close") {
		t.Errorf("a line written after Close came out")
	}
}

// A stderr that stays stalled holds Close at most logFlushLimit; one
// that fails (EPIPE) is written to once, and lines go on being taken.
func TestLogWriterFailing(t *testing.T) {
	stalled := &blockedWriter{release: make(chan struct{})}
	defer close(stalled.release)
	w := newLogWriter(stalled)
	fmt.Fprintln(w, "Client connected: 127.0.0.1")
	start := time.Now()
	w.Close()
	if d := time.Since(start); d > logFlushLimit+2*time.Second {
		t.Errorf("Close on a stalled stderr took %v", d)
	}

	closed := &blockedWriter{fail: true}
	w = newLogWriter(closed)
	for range 1000 {
		if n, err := fmt.Fprintln(w, "Client connected: 127.0.0.1"); err != nil || n == 0 {
			t.Fatalf("Write to a log on a closed stderr: %d, %v", n, err)
		}
	}
	w.Close()
	closed.mu.Lock()
	defer closed.mu.Unlock()
	if closed.writes == 0 || closed.writes > 2 {
		t.Errorf("%d writes to a stderr that failed at once; want the first and no more than one after", closed.writes)
	}
}

// logServer is a server that logs a line a client, and its client.
type logServer struct {
	name    string
	argv    func(t testing.TB) []string // ends in port 0
	request func(port int, word string) (string, error)
	want    func(word string) string
}

func tcpRequest(port int, word string) (string, error) {
	return tcp.Request([4]byte{127, 0, 0, 1}, port, word, tcp.ClientConfig{Timeout: 5 * time.Second})
}

func udpRequest(port int, word string) (string, error) {
	return udp.Request([4]byte{127, 0, 0, 1}, port, word, udp.ClientConfig{Timeout: time.Second, Retries: 4})
}

func same(w string) string { return w }

func tcpLogServer(mode, impl string, extra ...string) logServer {
	return logServer{"tcp/" + mode + "/" + impl, func(testing.TB) []string {
		return socklab(append(append([]string{"tcp-echo-server", "--mode", mode, "--impl", impl}, extra...), "0")...)
	}, tcpRequest, same}
}

func tcpLogC(mode string, extra ...string) logServer {
	return logServer{"tcp/" + mode + "/c", func(t testing.TB) []string {
		src := "tcp/testdata/" + mode + ".c"
		if mode == "thread" || mode == "epoll" {
			return append([]string{cBinaryPthread(t, src), "0"}, extra...)
		}
		return []string{cBinary(t, src), "0"}
	}, tcpRequest, same}
}

func udpLogServer(name string, argv func(t testing.TB) []string, upper bool) logServer {
	want := same
	if upper {
		want = strings.ToUpper
	}
	return logServer{name, argv, udpRequest, want}
}

func socklabArgv(args ...string) func(testing.TB) []string {
	return func(testing.TB) []string { return socklab(args...) }
}

// goLogServers is every Go server command, raw and net, a model each.
var goLogServers = []logServer{
	tcpLogServer("iterative", "raw"), tcpLogServer("thread", "raw"), tcpLogServer("select", "raw"),
	tcpLogServer("epoll", "raw", "--loops", "2"), tcpLogServer("fork", "raw"),
	tcpLogServer("iterative", "net"), tcpLogServer("thread", "net"),
	udpLogServer("udp-echo/raw", socklabArgv("udp-echo-server", "0"), false),
	udpLogServer("udp-echo/net", socklabArgv("udp-echo-server", "--impl", "net", "0"), false),
	udpLogServer("udp-lengthy/iterative/raw", socklabArgv("udp-lengthy-server", "--delay", "0s", "0"), true),
	udpLogServer("udp-lengthy/thread/net", socklabArgv("udp-lengthy-server", "--mode", "thread", "--impl", "net", "--delay", "0s", "0"), true),
	udpLogServer("udp-lengthy/prefork/raw", socklabArgv("udp-lengthy-server", "--mode", "prefork", "--workers", "2", "--delay", "0s", "0"), true),
}

// serveMany makes n requests one after the other and fails at the first
// that is not answered.
func serveMany(t *testing.T, s logServer, port, n int) {
	t.Helper()
	for i := range n {
		word := "w" + strconv.Itoa(i)
		got, err := s.request(port, word)
		if err != nil || got != s.want(word) {
			t.Fatalf("request %d of %d: %q, %v", i+1, n, got, err)
		}
	}
}

// stopIn sends SIGTERM and fails unless the server exits 0 within the
// stop bound.
func stopIn(t *testing.T, s *proc.Server) {
	t.Helper()
	start := time.Now()
	state, err := s.Stop(syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	if state.ExitCode() != 0 {
		t.Errorf("after SIGTERM: %v, want exit status 0", state)
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
}

// A server whose stderr is a pipe nobody reads (one page, full after
// some 150 lines) goes on serving, a line a client, and stops on SIGTERM.
// The C twins block in write(2) there, as the tutorial's programs do.
func TestServerStalledStderr(t *testing.T) {
	const clients = 3000 // 84 KiB of lines: the pipe and the log's buffer full, lines dropped
	for _, s := range goLogServers {
		t.Run(s.name, func(t *testing.T) {
			n := clients
			if strings.HasPrefix(s.name, "tcp/fork/") {
				n = 600 // a fork a client: enough to fill the pipe, and the suite's time bounded
			}
			srv, r, err := proc.StartPipe(context.Background(), s.name, s.argv(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			t.Cleanup(srv.Kill)
			serveMany(t, s, srv.Port, n)
			stopIn(t, srv)
		})
	}
}

// A server whose stderr is closed goes on serving and exits 0 on
// SIGTERM: the failed writes cost it the log, never its life (SIGPIPE).
func TestServerClosedStderr(t *testing.T) {
	servers := append(append([]logServer(nil), goLogServers...),
		tcpLogC("iterative"), tcpLogC("thread"), tcpLogC("fork"), tcpLogC("select"), tcpLogC("poll"), tcpLogC("epoll", "2"),
		udpLogServer("udp-echo/c", func(t testing.TB) []string {
			return []string{cBinary(t, "udp/testdata/echo_server.c"), "0"}
		}, false),
		udpLogServer("udp-lengthy/iterative/c", func(t testing.TB) []string {
			return []string{cBinary(t, "udp/testdata/lengthy_iterative.c"), "0", "0"}
		}, true),
	)
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			srv, r, err := proc.StartPipe(context.Background(), s.name, s.argv(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Kill)
			r.Close()
			serveMany(t, s, srv.Port, 200)
			if srv.Exited() {
				t.Fatalf("exited while serving: %v", srv.Cmd.ProcessState)
			}
			stopIn(t, srv)
		})
	}
}

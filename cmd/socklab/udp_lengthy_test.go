package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

const lengthyDelay = 200 * time.Millisecond

// lengthyC builds the C twin of a mode (-pthread for the threaded one).
func lengthyC(t testing.TB, mode string) string {
	t.Helper()
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "a C compiler (apt-get install gcc)", err)
	}
	var flags []string
	if mode == "thread" {
		flags = append(flags, cref.Pthread)
	}
	stem := strings.ReplaceAll(mode, "-", "") // fork-exec: lengthy_forkexec.c
	path, err := crefs.Build(filepath.Join("..", "..", "udp", "testdata", "lengthy_"+stem+".c"), flags...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// lengthyServers lists every server the binary tests run: each mode of
// socklab, the net twin of the threaded one, and the C twins. args are
// the delay in ms and the bound on requests in progress.
var lengthyServers = []struct {
	name       string
	concurrent bool
	argv       func(t testing.TB, delay time.Duration, quiet bool) []string
}{
	{"iterative", false, goLengthy("iterative")},
	{"thread", true, goLengthy("thread")},
	{"thread-net", true, goLengthy("thread", "--impl", "net")},
	{"fork", true, goLengthy("fork")},
	{"fork-exec", true, goLengthy("fork-exec")},
	{"async", true, goLengthy("async")},
	{"prefork", true, goLengthy("prefork")},
	{"c-iterative", false, cLengthy("iterative")},
	{"c-thread", true, cLengthy("thread")},
	{"c-fork", true, cLengthy("fork")},
	{"c-fork-exec", true, cLengthy("fork-exec")},
	{"c-async", true, cLengthy("async")},
	{"c-prefork", true, cLengthy("prefork")},
}

func goLengthy(mode string, extra ...string) func(testing.TB, time.Duration, bool) []string {
	return func(_ testing.TB, delay time.Duration, quiet bool) []string {
		args := append([]string{"udp-lengthy-server", "--mode", mode, "--delay", delay.String()}, extra...)
		if quiet {
			args = append(args, "--quiet")
		}
		return socklab(append(args, "0")...)
	}
}

func cLengthy(mode string) func(testing.TB, time.Duration, bool) []string {
	return func(t testing.TB, delay time.Duration, quiet bool) []string {
		argv := []string{lengthyC(t, mode), "0", strconv.FormatInt(delay.Milliseconds(), 10)}
		if quiet {
			return quietC(argv...)
		}
		return argv
	}
}

var stressSeconds = regexp.MustCompile(`(?m)^(\d+\.\d\d) seconds\n\z`)

// Every server, as a user runs it, answers the stress client's 20
// requests, each with the client's own message upper-cased; the iterative
// ones take 20 delays, the concurrent ones overlap them (under 3 delays +
// 1 s, a generous bound: this is behaviour, not speed).
func TestUDPLengthyModes(t *testing.T) {
	for _, s := range lengthyServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			p := startServer(t, s.argv(t, lengthyDelay, true)...)
			r := runCmd(t, 30*time.Second, socklab("udp-stress-client", "--timeout", "10s", "127.0.0.1", "Hello world", strconv.Itoa(p.Port))...)
			if r.code != 0 {
				t.Fatalf("stress client exit %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", r.code, r.stdout, r.stderr, p.Stderr())
			}
			for n := range 20 {
				if want := fmt.Sprintf("Received: HELLO WORLD [%d]\n", n); !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			m := stressSeconds.FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("output does not end in \"N.NN seconds\":\n%s", r.stdout)
			}
			secs, _ := strconv.ParseFloat(m[1], 64)
			took := time.Duration(secs * float64(time.Second))
			if s.concurrent && took > 3*lengthyDelay+time.Second {
				t.Errorf("20 requests took %v: the delays did not overlap", took)
			}
			if !s.concurrent && took < 20*lengthyDelay {
				t.Errorf("20 requests took %v, under 20 delays: not one at a time", took)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("server exit status %d on SIGTERM\n%s", code, p.Stderr())
			}
			if got := p.Stderr(); strings.Count(got, "\n") != 1 { // "Listening on port N"
				t.Errorf("quiet server wrote more than its port:\n%s", got)
			}
		})
	}
}

// Every input a user can get wrong, and the runtime conditions the issue
// names, through the binary.
func TestUDPLengthyBadInput(t *testing.T) {
	usage := `\nUSAGE: socklab udp-lengthy-server \[flags\] <port>\n$`
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown mode", []string{"udp-lengthy-server", "--mode", "forks", "0"}, 2,
			`^invalid --mode "forks": want one of iterative, thread, fork, fork-exec, async, prefork\n$`},
		{"delay not a duration", []string{"udp-lengthy-server", "--delay", "5", "0"}, 2,
			`^invalid --delay "5": want a duration such as 5s or 200ms\n$`},
		{"delay words", []string{"udp-lengthy-server", "--delay", "soon", "0"}, 2, `^invalid --delay "soon"`},
		{"delay negative", []string{"udp-lengthy-server", "--delay=-1s", "0"}, 2, `^invalid --delay -1s: must not be negative\n$`},
		{"max-children 0", []string{"udp-lengthy-server", "--mode", "fork", "--max-children", "0", "0"}, 2, `^invalid --max-children 0: want 1 or more\n$`},
		{"max-children iterative", []string{"udp-lengthy-server", "--max-children", "3", "0"}, 2, `^--max-children is for the thread, fork, fork-exec and async modes\n$`},
		{"workers 0", []string{"udp-lengthy-server", "--mode", "prefork", "--workers", "0", "0"}, 2, `^invalid --workers 0: want 1 to 1024\n$`},
		{"workers 100000", []string{"udp-lengthy-server", "--mode", "prefork", "--workers", "100000", "0"}, 2, `^invalid --workers 100000: want 1 to 1024\n$`},
		{"workers fork", []string{"udp-lengthy-server", "--mode", "fork", "--workers", "3", "0"}, 2, `^--workers is for --mode prefork\n$`},
		{"net fork", []string{"udp-lengthy-server", "--mode", "fork", "--impl", "net", "0"}, 2, `^--impl net exists for --mode thread only\n$`},
		{"no port", []string{"udp-lengthy-server", "--mode", "fork"}, 2, `^expected 1 argument, got 0` + usage},
		{"bad port", []string{"udp-lengthy-server", "x"}, 2, `^invalid port "x"`},
		{"stress too few", []string{"udp-stress-client", "127.0.0.1", "x"}, 2, `^expected 3 arguments, got 2\nUSAGE: socklab udp-stress-client`},
		{"stress clients 0", []string{"udp-stress-client", "--clients", "0", "127.0.0.1", "x", "7"}, 2, `^invalid --clients 0: want 1 to 10000\n$`},
		{"stress port 0", []string{"udp-stress-client", "127.0.0.1", "x", "0"}, 2, `^invalid port "0"`},
		{"stress raw name", []string{"udp-stress-client", "localhost", "x", "7"}, 2, `^invalid server "localhost": the raw client takes a dotted-quad`},
		{"stress timeout", []string{"udp-stress-client", "--timeout=-2s", "127.0.0.1", "x", "7"}, 2, `^invalid --timeout -2s: must not be negative\n$`},
		{"stress long word", []string{"udp-stress-client", "127.0.0.1", strings.Repeat("w", 252), "7"}, 2, `^word of 252 bytes`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, 10*time.Second, socklab(c.args...)...)
			if r.code != c.code {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, c.code, r.stderr)
			}
			if !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
				t.Errorf("stderr %q does not match %q", r.stderr, c.stderr)
			}
		})
	}

	// More concurrent requests than --max-children: the extra ones are
	// dropped and counted on stderr, the stress client names them and
	// exits 1, and the server stays up.
	for _, mode := range []string{"thread", "fork", "fork-exec", "async"} {
		t.Run("over max-children/"+mode, func(t *testing.T) {
			t.Parallel()
			p := startServer(t, socklab("udp-lengthy-server", "--mode", mode, "--delay", "500ms", "--max-children", "2", "--quiet", "0")...)
			port := strconv.Itoa(p.Port)
			r := runCmd(t, 20*time.Second, socklab("udp-stress-client", "--clients", "6", "--timeout", "3s", "127.0.0.1", "x", port)...)
			if r.code != 1 || !regexp.MustCompile(`^\[\d\]: no reply from 127\.0\.0\.1`).MatchString(r.stderr) ||
				!strings.Contains(r.stderr, "2 of 6 replies right: no reply for [") {
				t.Errorf("stress client: exit %d, stderr %q; want 1 and the 4 missing named", r.code, r.stderr)
			}
			if !strings.Contains(p.Stderr(), "(--max-children 2); 4 dropped so far") {
				t.Errorf("server did not count 4 drops:\n%s", p.Stderr())
			}
			r = runCmd(t, 20*time.Second, socklab("udp-stress-client", "--clients", "2", "--timeout", "3s", "127.0.0.1", "y", port)...)
			if r.code != 0 {
				t.Errorf("after the drops: exit %d, %s", r.code, r.stderr)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d", code)
			}
		})
	}

}

// A datagram longer than --bufsize is reported, not answered; a short one
// after it is.
func TestUDPLengthyTruncated(t *testing.T) {
	for _, mode := range udp.Modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			args := []string{"udp-lengthy-server", "--mode", mode, "--delay", "10ms", "--bufsize", "8"}
			if mode == "prefork" {
				args = append(args, "--workers", "2")
			}
			p := startServer(t, socklab(append(args, "0")...)...)
			port := strconv.Itoa(p.Port)
			r := runCmd(t, 10*time.Second, socklab("udp-echo-client", "--bufsize", "64", "--timeout", "300ms", "127.0.0.1", "longer than eight", port)...)
			if r.code != 1 || !strings.Contains(r.stderr, "no reply") {
				t.Errorf("17 bytes to an 8-byte server: exit %d, %q; want no reply", r.code, r.stderr)
			}
			r = runCmd(t, 10*time.Second, socklab("udp-stress-client", "--clients", "1", "--timeout", "3s", "127.0.0.1", "ok", port)...)
			if r.code != 0 || !strings.Contains(r.stdout, "Received: OK [0]\n") {
				t.Errorf("short request after a long one: exit %d, %q %q", r.code, r.stdout, r.stderr)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d", code)
			}
			if !strings.Contains(p.Stderr(), "truncated: 17 bytes, buffer 8; not answered") {
				t.Errorf("server did not report the truncation:\n%s", p.Stderr())
			}
		})
	}
}

// SIGTERM while children are serving: the server stops receiving, the
// children finish (their clients get the replies), every one is reaped
// before the server exits 0, and none is left behind. The signal comes
// once every request has been received ("Client connected"), for a
// prefork server's workers exist before any request does. SIGHUP (a
// closed terminal) does the same, where by default it would kill the
// server at once and leave its children to init.
func TestUDPLengthySIGTERMWithChildren(t *testing.T) {
	for _, s := range []struct {
		name, mode string
		c          bool
		sig        syscall.Signal
	}{{"fork", "fork", false, syscall.SIGTERM}, {"fork-exec", "fork-exec", false, syscall.SIGTERM}, {"prefork", "prefork", false, syscall.SIGTERM},
		{"c-fork", "fork", true, syscall.SIGTERM}, {"c-fork-exec", "fork-exec", true, syscall.SIGTERM}, {"c-prefork", "prefork", true, syscall.SIGTERM},
		{"fork/SIGHUP", "fork", false, syscall.SIGHUP}, {"prefork/SIGHUP", "prefork", false, syscall.SIGHUP},
		{"c-fork/SIGHUP", "fork", true, syscall.SIGHUP}, {"c-fork-exec/SIGHUP", "fork-exec", true, syscall.SIGHUP}, {"c-prefork/SIGHUP", "prefork", true, syscall.SIGHUP}} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			const delay = 600 * time.Millisecond
			argv := socklab("udp-lengthy-server", "--mode", s.mode, "--delay", delay.String(), "0")
			if s.c {
				argv = []string{lengthyC(t, s.mode), "0", "600"}
			}
			p := startServer(t, argv...)
			type out struct {
				r    result
				done time.Time
			}
			outc := make(chan out, 1)
			go func() {
				r := runCmd(t, 20*time.Second, socklab("udp-stress-client", "--clients", "5", "--timeout", "5s", "127.0.0.1", "term", strconv.Itoa(p.Port))...)
				outc <- out{r, time.Now()}
			}()
			waitConnected(t, p, 5, 5*time.Second)
			kids := waitChildren(t, p.Cmd.Process.Pid, 5, 5*time.Second)
			if code := p.stop(t, s.sig); code != 0 {
				t.Errorf("exit status %d on %v with children running\n%s", code, s.sig, p.Stderr())
			}
			exited := time.Now()
			for _, pid := range kids {
				if proc.Exists(pid) {
					t.Errorf("child %d outlived the server", pid)
				}
			}
			o := <-outc
			if o.r.code != 0 {
				t.Errorf("the requests in progress at %v: exit %d\n%s%s", s.sig, o.r.code, o.r.stdout, o.r.stderr)
			}
			if o.done.After(exited.Add(100 * time.Millisecond)) {
				t.Errorf("the last reply came %v after the server exited", o.done.Sub(exited))
			}
		})
	}
}

// SIGTERM while datagrams keep arriving: 15 queued at once, then one every
// 20 ms. Stop means stop receiving: every server finishes the requests in
// progress and exits 0 within a delay or so, however many are queued. The
// iterative and prefork servers used to serve the queue, one delay a
// request, for as long as the sender went on.
func TestUDPLengthyStopUnderLoad(t *testing.T) {
	const delay = time.Second
	for _, s := range lengthyServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			p := startServer(t, s.argv(t, delay, true)...)
			fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
			if err != nil {
				t.Fatal(err)
			}
			defer sys.Close(fd)
			to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, p.Port)
			for i := range 15 {
				if _, err := sys.Sendto(fd, []byte("queued "+strconv.Itoa(i)), 0, &to); err != nil {
					t.Fatal(err)
				}
			}
			stopSending := sendWhile(fd, &to, "steady", 20*time.Millisecond)
			time.Sleep(300 * time.Millisecond) // a request in progress, more queued
			code, took := p.timedStop(t, syscall.SIGTERM)
			n := stopSending()
			if code != 0 {
				t.Errorf("exit status %d on SIGTERM under load\n%s", code, p.Stderr())
			}
			if took > delay+2*time.Second {
				t.Errorf("stopped %v after SIGTERM, want within the delay in progress (%v) and 2 s", took.Round(time.Millisecond), delay)
			}
			// The requests in progress were answered before the exit: the
			// one an iterative server had, all 15 for the others.
			replies := 0
			var buf [64]byte
			for {
				if _, err := sys.Recvfrom(fd, buf[:], unix.MSG_DONTWAIT, nil, nil); err != nil {
					break
				}
				replies++
			}
			if want := 15; !s.concurrent && replies < 1 || s.concurrent && replies < want {
				t.Errorf("%d replies to the requests in progress at SIGTERM, want 1 (iterative) or %d", replies, want)
			}
			t.Logf("stopped in %v; %d steady datagrams sent; %d replies", took.Round(time.Millisecond), n, replies)
		})
	}
}

// A prefork server asked for the most workers stops during its start-up:
// SIGTERM right after "Listening on port N" forks no more, the workers
// started end, and the server exits 0 with none left behind.
func TestUDPPreforkStopDuringStartup(t *testing.T) {
	for name, argv := range map[string]func() []string{
		"go": func() []string {
			return socklab("udp-lengthy-server", "--mode", "prefork", "--workers", strconv.Itoa(udp.MaxWorkers), "--quiet", "0")
		},
		"c": func() []string { return quietC(lengthyC(t, "prefork"), "0", "5000", strconv.Itoa(udp.MaxWorkers)) },
	} {
		t.Run(name, func(t *testing.T) {
			p := startServer(t, argv()...)
			time.Sleep(100 * time.Millisecond)
			kids := proc.Descendants(p.Cmd.Process.Pid)
			code, took := p.timedStop(t, syscall.SIGTERM)
			if code != 0 {
				t.Errorf("exit status %d on SIGTERM during start-up\n%s", code, p.Stderr())
			}
			// Starting all 1024 Go workers takes 2.5 s on an idle 2-core
			// machine; stopping the start-up, 0.1 s.
			if took > 1500*time.Millisecond {
				t.Errorf("stopped %v after SIGTERM during start-up, want under 1.5 s", took.Round(time.Millisecond))
			}
			for _, pid := range kids {
				if proc.Exists(pid) {
					t.Errorf("worker %d outlived the server", pid)
				}
			}
			t.Logf("%d workers when stopped; stopped in %v", len(kids), took.Round(time.Millisecond))
		})
	}
}

// waitConnected waits until server p has reported n clients.
func waitConnected(t *testing.T, p server, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for strings.Count(p.Stderr(), "Client connected: ") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients reported after %v, want %d:\n%s", strings.Count(p.Stderr(), "Client connected: "), limit, n, p.Stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitChildren waits until pid has at least n children and returns them.
func waitChildren(t *testing.T, pid, n int, limit time.Duration) []int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		kids := proc.Children(pid)
		if len(kids) >= n {
			return kids
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d has %d children after %v, want %d", pid, len(kids), limit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lengthyTrace runs a lengthy server under strace, asks it twice, one
// request after the other (so that every run makes its calls in the same
// order), stops it with SIGTERM once it waits again, and returns its
// network steps, every process's.
func lengthyTrace(t *testing.T, argv []string) []strace.Step {
	t.Helper()
	s := startTraced(t, 30*time.Second, argv, strace.ReadinessSyscalls()...)
	for i := range 2 {
		word := fmt.Sprintf("traced %d", i)
		got, err := udp.Request([4]byte{127, 0, 0, 1}, s.Port, word, udp.ClientConfig{Timeout: 10 * time.Second})
		if err != nil || got != strings.ToUpper(word) {
			t.Fatalf("request %d to the traced server: %q, %v", i, got, err)
		}
		// the server, and its forked child if any, are done with the request
		if kids := waitForkChildren(s.PID, 0, 10*time.Second); kids != 0 {
			t.Fatalf("server still has %d children", kids)
		}
		s.waitBlocked("recvfrom", "epoll_pwait", "epoll_wait")
	}
	return s.stop()
}

// byProc splits a trace's steps by process, 1 first.
func byProc(steps []strace.Step) [][]strace.Step {
	var procs []int
	seen := map[int]bool{}
	for _, s := range steps {
		if !seen[s.Proc] {
			seen[s.Proc] = true
			procs = append(procs, s.Proc)
		}
	}
	sort.Ints(procs)
	var out [][]strace.Step
	for _, p := range procs {
		out = append(out, strace.OfProc(steps, p))
	}
	return out
}

// The raw modes make their C twins' network system calls, process by
// process (processes run concurrently, so only the order within one is
// compared): the same sockets, the same epoll instance, and in the fork
// mode a child process per request, created by a clone without execve,
// that makes the sendto.
func TestUDPLengthyParity(t *testing.T) {
	for _, mode := range []string{"iterative", "thread", "fork", "async"} {
		t.Run(mode, func(t *testing.T) {
			c := lengthyTrace(t, cLengthy(mode)(t, lengthyDelay, false))
			g := lengthyTrace(t, goLengthy(mode)(t, lengthyDelay, false))
			cp, gp := byProc(c), byProc(g)
			if len(cp) != len(gp) {
				t.Fatalf("C has %d processes, Go %d\nC:  %v\nGo: %v", len(cp), len(gp), strace.Keys(c), strace.Keys(g))
			}
			for i := range cp {
				if d := strace.Parity(gp[i], cp[i]); len(d) > 0 {
					t.Errorf("process %d differs from its C twin's:\n%s\nGo: %v\nC:  %v", i+1, strings.Join(d, "\n"), strace.Keys(gp[i]), strace.Keys(cp[i]))
				}
			}
			forks, execs := 0, 0
			for _, s := range g {
				switch s.Family {
				case "fork":
					forks++
				case "execve":
					execs++
				}
			}
			want := 0
			if mode == "fork" {
				want = 2 // a process-creating clone per request, and no execve
				for i, p := range gp[1:] {
					if got := strace.Keys(p); len(got) != 1 || got[0] != fmt.Sprintf("proc#%d: sendto(sock#1)", i+2) {
						t.Errorf("forked child %d: %v, want its sendto on the inherited socket only", i+2, got)
					}
				}
			}
			if forks != want || execs != 0 {
				t.Errorf("Go %s server: %d forks, %d execve for 2 requests; want %d and 0\n%v", mode, forks, execs, want, strace.Keys(g))
			}
			t.Logf("Go: %v", strace.Keys(g))
		})
	}
}

// fork-exec has no C twin: what it costs is the point. Each request makes
// a process (clone) that execve's this program again, whose Go runtime
// starts from nothing, and that process sends the reply on the socket it
// inherited as fd 3. The fork mode, by contrast, shows no execve at all
// (TestUDPLengthyParity).
func TestUDPLengthyForkExecShowsExecve(t *testing.T) {
	g := lengthyTrace(t, goLengthy("fork-exec")(t, lengthyDelay, false))
	procs := byProc(g)
	if len(procs) != 3 {
		t.Fatalf("%d processes for 2 requests, want the server and 2 children\n%v", len(procs), strace.Keys(g))
	}
	forks := 0
	for _, s := range procs[0] {
		if s.Family == "fork" {
			forks++
		}
	}
	// One more clone may come first: os/exec probes, once per program,
	// whether clone takes CLONE_PIDFD, with a child that exits at once.
	if forks != 2 && forks != 3 {
		t.Errorf("server: %d forks for 2 requests, want 2 (and os/exec's probe)\n%v", forks, strace.Keys(procs[0]))
	}
	for _, child := range procs[1:] {
		fams := strings.Join(strace.Families(child), " ")
		if !regexp.MustCompile(`^(dup2 )?execve( close)* sendto$`).MatchString(fams) {
			t.Errorf("child: %s, want the socket moved to fd 3, execve, then sendto on it\n%v", fams, strace.Keys(child))
		}
	}
}

// BenchmarkUDPLengthy measures what each model adds to the delay itself:
// one op is 20 requests fired at once (the stress client's) at a server
// whose action takes 10 ms, each server its own process as a user runs it.
// The physical limit is the delay, so the metric that matters is the
// overhead, completion time minus the delay: per batch of 20
// (ms-overhead/op) and divided among its requests (µs-overhead/req). The
// iterative models pay 19 more delays by design.
func BenchmarkUDPLengthy(b *testing.B) {
	const delay = 10 * time.Millisecond
	const clients = 20
	for _, s := range lengthyServers {
		b.Run(s.name, func(b *testing.B) {
			p := startServer(b, s.argv(b, delay, true)...)
			defer p.stop(b, syscall.SIGTERM)
			cfg := udp.StressConfig{Clients: clients, Timeout: 5 * time.Second}
			if res := udp.Stress([4]byte{127, 0, 0, 1}, p.Port, "warm up", cfg); res.Err() != nil {
				b.Fatal(res.Err())
			}
			var overhead time.Duration
			b.ResetTimer()
			for range b.N {
				res := udp.Stress([4]byte{127, 0, 0, 1}, p.Port, "bench", cfg)
				if err := res.Err(); err != nil {
					b.Fatal(err)
				}
				overhead += res.Elapsed - delay
			}
			b.StopTimer()
			perOp := overhead / time.Duration(b.N)
			b.ReportMetric(float64(perOp)/float64(time.Millisecond), "ms-overhead/op")
			b.ReportMetric(float64(perOp)/float64(time.Microsecond)/clients, "µs-overhead/req")
		})
	}
}

// The fork-exec child and prefork worker roles travel in argv, as a first
// argument that no usage text lists: the environment chooses nothing (the
// old role variable leaves --help alone), a wrong invocation gets one line
// and exit 2, and a right one, given a socket as fd 3, answers its request.
func TestUDPLengthyRoleInArgv(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"udp-lengthy-server", "--help"}} {
		help := exec.Command(socklabBin, args...)
		help.Env = append(os.Environ(), "SOCKLAB_LENGTHY_ROLE=child", "SOCKLAB_LENGTHY_DELAY=1s")
		out, err := help.Output()
		if err != nil || !strings.HasPrefix(string(out), "USAGE: socklab ") {
			t.Errorf("socklab %v with a role in the environment: %v\n%s", args, err, out)
		}
		if strings.Contains(string(out), udp.RoleChild) || strings.Contains(string(out), udp.RoleWorker) {
			t.Errorf("socklab %v lists a child role:\n%s", args, out)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{udp.RoleChild}, "want DELAY IP:PORT MESSAGE, got 0 arguments"},
		{[]string{udp.RoleChild, "soon", "127.0.0.1:7", "6869"}, `delay "soon"`},
		{[]string{udp.RoleChild, "1s", "localhost:7", "6869"}, `client "localhost:7"`},
		{[]string{udp.RoleChild, "1s", "127.0.0.1:0", "6869"}, `client "127.0.0.1:0"`},
		{[]string{udp.RoleChild, "1s", "127.0.0.1:7", "hi"}, `message "hi"`},
		{[]string{udp.RoleChild, "1s", "127.0.0.1:7", "6869"}, "descriptor 3 is not the server's socket"},
		{[]string{udp.RoleWorker, "1s", "255", "quiet"}, "want DELAY BUFSIZE quiet|verbose PORT RATE|off, got 3 arguments"},
		{[]string{udp.RoleWorker, "1s", "0", "quiet", "7777", "0"}, `buffer size "0"`},
		{[]string{udp.RoleWorker, "1s", "255", "loud", "7777", "0"}, `"loud": want quiet or verbose`},
		{[]string{udp.RoleWorker, "1s", "255", "quiet", "port", "0"}, `port "port": want 0 to 65535`},
		{[]string{udp.RoleWorker, "1s", "255", "quiet", "7777", "-1"}, `rate "-1": want off or 0 to 1000000`},
		{[]string{udp.RoleWorker, "1s", "255", "quiet", "7777", "off"}, "descriptor 3 is not the server's socket"},
	} {
		r := runCmd(t, 10*time.Second, socklab(c.args...)...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("socklab %v: exit %d, stderr %q; want 2 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}

	// The C twin's child role refuses the same mistakes.
	cbin := lengthyC(t, "fork-exec")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{udp.RoleChild}, "want DELAY IP:PORT MESSAGE, got 0 arguments"},
		{[]string{udp.RoleChild, "1s", "127.0.0.1:7", "6869"}, `delay "1s": want milliseconds`},
		{[]string{udp.RoleChild, "5ms", "127.0.0.1:7", "6869"}, "descriptor 3 is not the server's socket"},
	} {
		r := runCmd(t, 10*time.Second, append([]string{cbin}, c.args...)...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("lengthy_forkexec %v: exit %d, stderr %q; want 2 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}

	// The right invocation, as ServeForkExec makes it.
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sock, err := server.File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, client.LocalAddr().(*net.UDPAddr).Port)
	for _, msg := range []string{"by argv", ""} { // a datagram may be empty
		child := exec.Command(socklabBin, udp.ChildArgs(0, &to, []byte(msg))...)
		child.ExtraFiles = []*os.File{sock}
		if out, err := child.CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", child.Args, err, out)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, from, err := client.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != strings.ToUpper(msg) || from.Port != server.LocalAddr().(*net.UDPAddr).Port {
			t.Errorf("the child's reply: %q from %v, %v; want %q from the server's socket", buf[:max(n, 0)], from, err, strings.ToUpper(msg))
		}
	}
}

// os/exec's CLONE_PIDFD probe, a process that makes no step, is named
// probe and does not shift the names of the processes after it; a process
// that makes steps keeps its place.
func TestCompareProbeProcess(t *testing.T) {
	step := func(proc int, family, made string) strace.Step {
		return strace.Step{Call: strace.Call{Name: family}, Family: family, Proc: proc, New: made}
	}
	got := strace.Keys(probeProcs([]strace.Step{
		step(1, "socket", "sock#1"),
		step(1, "fork", "proc#2"), // the probe
		step(1, "fork", "proc#3"),
		step(3, "sendto", ""),
		step(1, "fork", "proc#4"),
		step(4, "sendto", ""),
	}))
	want := []string{"socket() = sock#1", "fork() = probe", "fork() = proc#2", "proc#2: sendto()", "fork() = proc#3", "proc#3: sendto()"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// tcpServer is one server a user can run: a socklab mode or a C twin.
type tcpServer struct {
	name       string
	concurrent bool
	argv       func(t testing.TB) []string // ends in the port, 0
}

// cBinaryPthread builds a C twin that creates threads.
func cBinaryPthread(t testing.TB, src string) string {
	t.Helper()
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "a C compiler (apt-get install gcc)", err)
	}
	path, err := crefs.Build("../../"+src, cref.Pthread)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func goServer(mode, impl string, concurrent bool, extra ...string) tcpServer {
	return tcpServer{mode + "/" + impl, concurrent, func(testing.TB) []string {
		args := append([]string{"tcp-echo-server", "--mode", mode, "--impl", impl, "--quiet"}, extra...)
		return socklab(append(args, "0")...)
	}}
}

func cServer(mode string, concurrent bool) tcpServer {
	return tcpServer{mode + "/c", concurrent, func(t testing.TB) []string {
		src := "tcp/testdata/" + mode + ".c"
		if mode == "thread" {
			return quietC(cBinaryPthread(t, src), "0")
		}
		if mode == "epoll" {
			return quietC(cBinaryPthread(t, src), "0", "2")
		}
		return quietC(cBinary(t, src), "0")
	}}
}

// tcpServers is every server model in every implementation.
var tcpServers = []tcpServer{
	goServer("iterative", "raw", false), goServer("iterative", "net", false), cServer("iterative", false),
	goServer("fork", "raw", true), cServer("fork", true),
	goServer("thread", "raw", true), goServer("thread", "net", true), cServer("thread", true),
	goServer("select", "raw", true), cServer("select", true),
	goServer("poll", "raw", true), cServer("poll", true),
	goServer("epoll", "raw", true), cServer("epoll", true),
}

// tcpClients is every echo client: the raw and net subcommands and the C twin.
var tcpClients = []struct {
	name string
	argv func(t testing.TB, word string, port int) []string
}{
	{"raw", func(_ testing.TB, w string, p int) []string {
		return socklab("tcp-echo-client", "--timeout", "5s", "127.0.0.1", w, strconv.Itoa(p))
	}},
	{"net", func(_ testing.TB, w string, p int) []string {
		return socklab("tcp-echo-client", "--impl", "net", "--timeout", "5s", "127.0.0.1", w, strconv.Itoa(p))
	}},
	{"c", func(t testing.TB, w string, p int) []string {
		return []string{cBinary(t, "tcp/testdata/client.c"), "127.0.0.1", w, strconv.Itoa(p)}
	}},
}

// Every client against every server, as processes; each server stops
// with exit status 0 on SIGTERM.
func TestTCPBehaviour(t *testing.T) {
	words := []string{"hello", strings.Repeat("z", 100)}
	for _, s := range tcpServers {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t)...)
			for _, c := range tcpClients {
				for _, w := range words {
					r := runCmd(t, 10*time.Second, c.argv(t, w, p.Port)...)
					if r.code != 0 || r.stdout != "Received: "+w+"\n" {
						t.Errorf("client %s: exit %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
					}
				}
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d after SIGTERM; stderr %s", code, p.Stderr())
			}
		})
	}
}

var secondsLine = regexp.MustCompile(`(?m)^(\d+\.\d\d) seconds\n\z`)

// slowRun runs the slow client and returns its reported time.
func slowRun(t *testing.T, port, clients int, delay string) time.Duration {
	t.Helper()
	r := runCmd(t, 60*time.Second, socklab("tcp-slow-client", "--clients", strconv.Itoa(clients), "--delay", delay,
		"--timeout", "20s", "127.0.0.1", "Hello world", strconv.Itoa(port))...)
	m := secondsLine.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || strings.Count(r.stdout, "Received: Hello world [") != clients {
		t.Fatalf("slow client: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	secs, _ := strconv.ParseFloat(m[1], 64)
	return time.Duration(secs * float64(time.Second))
}

// The tutorial's experiment at 5 ms a byte: the iterative server serves
// the 20 connections one after the other, every other model at once.
func TestTCPSlowClient(t *testing.T) {
	for _, s := range tcpServers {
		if s.name == "iterative/net" || s.name == "thread/net" {
			continue // the same shape as raw; kept out to bound the suite's time
		}
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t)...)
			defer p.stop(t, syscall.SIGTERM)
			one := slowRun(t, p.Port, 1, "5ms")
			all := slowRun(t, p.Port, 20, "5ms")
			t.Logf("1 connection %v, 20 connections %v", one, all)
			if s.concurrent && all > 2*one+time.Second {
				t.Errorf("20 connections took %v; one takes %v: they did not overlap", all, one)
			}
			// Serial, but only half of each connection is: the kernel takes
			// every client's dribbled bytes while the server is busy with
			// another, and only the echo, read back a byte at a time, waits
			// its turn. The tutorial's 37.07 s is that: 20 x 1.6 s + 3.2 s.
			if !s.concurrent && all < 20*one/2*9/10 {
				t.Errorf("20 connections took %v; one takes %v: a one-at-a-time server cannot overlap their echoes", all, one)
			}
		})
	}
}

// cpuTime returns the user+system time of pid from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	ticks, ok := proc.CPUTime(pid)
	if !ok {
		t.Fatalf("no CPU time for pid %d", pid)
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// rawConnect opens a client socket and waits up to wait for the
// connection (0: not at all, the SYN is just sent); it returns the
// descriptor, blocking again, or -1 when the connection failed.
func rawConnect(port int, wait time.Duration) int {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1
	}
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, port)
	if err := sys.Connect(fd, &sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		sys.Close(fd)
		return -1
	}
	if wait > 0 {
		fds := []sys.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := sys.Poll(fds, wait); n != 1 || err != nil || fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
			sys.Close(fd)
			return -1
		}
	}
	sys.SetNonblock(fd, false)
	return fd
}

func closeAll(fds []int) {
	for _, fd := range fds {
		if fd >= 0 {
			sys.Close(fd)
		}
	}
}

func echoOnce(t *testing.T, port int, word string) string {
	t.Helper()
	r := runCmd(t, 10*time.Second, socklab("tcp-echo-client", "--timeout", "3s", "127.0.0.1", word, strconv.Itoa(port))...)
	if r.code != 0 {
		return r.stderr
	}
	return strings.TrimPrefix(strings.TrimSuffix(r.stdout, "\n"), "Received: ")
}

// waitFds waits at most limit for pid to hold fewer than n descriptors
// and returns how many it holds.
func waitFds(pid, n int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err == nil && len(fds) < n || time.Now().After(deadline) {
			return len(fds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With RLIMIT_NOFILE lowered to 64 and 100 clients connected, a server
// neither dies nor spins, and serves the first new client once the
// flood has left: it sheds only the clients queued when accept fails.
func TestTCPRlimitFlood(t *testing.T) {
	for _, mode := range []string{"iterative", "fork", "thread", "select", "poll", "epoll"} {
		t.Run(mode, func(t *testing.T) {
			p := startServer(t, socklab("tcp-echo-server", "--mode", mode, "--quiet", "0")...)
			pid := p.Cmd.Process.Pid
			if err := sys.Prlimit(pid, unix.RLIMIT_NOFILE, &sys.Rlimit{Cur: 64, Max: 64}, nil); err != nil {
				t.Fatal(err)
			}
			var flood []int
			for range 100 {
				flood = append(flood, rawConnect(p.Port, 0))
			}
			defer closeAll(flood)
			for _, fd := range flood[:10] { // some talk, too
				if fd >= 0 {
					sys.Send(fd, []byte("x"), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
				}
			}
			before := cpuTime(t, pid)
			time.Sleep(2 * time.Second)
			if used := cpuTime(t, pid) - before; used > 200*time.Millisecond {
				t.Errorf("server used %v of CPU in 2s under the flood: it spins", used)
			}
			closeAll(flood)
			flood = nil
			if n := waitFds(pid, 32, 10*time.Second); n >= 32 {
				t.Fatalf("the server still holds %d descriptors 10s after the flood left", n)
			}
			// Descriptors are free: the first client must be served, not
			// taken by an accept left waiting to shed one.
			if got := echoOnce(t, p.Port, "after the flood"); got != "after the flood" {
				t.Errorf("first client after the flood: %q", got)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
		})
	}
}

// 200 slow-loris connections (one byte, then nothing) do not keep a fresh
// client waiting; --idle closes them.
func TestTCPSlowLoris(t *testing.T) {
	for _, mode := range []string{"fork", "thread", "select", "poll", "epoll"} {
		t.Run(mode, func(t *testing.T) {
			p := startServer(t, socklab("tcp-echo-server", "--mode", mode, "--quiet", "--idle", "1s", "0")...)
			var loris []int
			defer func() { closeAll(loris) }()
			for range 200 {
				fd := rawConnect(p.Port, 3*time.Second)
				if fd < 0 {
					t.Fatal("loris connect failed")
				}
				sys.Send(fd, []byte("L"), unix.MSG_NOSIGNAL)
				loris = append(loris, fd)
			}
			time.Sleep(50 * time.Millisecond)
			fd := rawConnect(p.Port, 3*time.Second)
			if fd < 0 {
				t.Fatal("fresh client could not connect")
			}
			loris = append(loris, fd)
			sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 2*time.Second)
			start := time.Now()
			sys.Send(fd, []byte("fresh"), unix.MSG_NOSIGNAL)
			buf := make([]byte, 5)
			n, err := sys.Recv(fd, buf, unix.MSG_WAITALL)
			took := time.Since(start)
			if err != nil || string(buf[:n]) != "fresh" {
				t.Fatalf("fresh client among 200 loris: %q, %v", buf[:max(n, 0)], err)
			}
			if took > 100*time.Millisecond {
				t.Errorf("fresh client echoed after %v, want under 100ms", took)
			}
			deadline := time.Now().Add(5 * time.Second)
			closed := 0
			for _, l := range loris[:200] {
				sys.SetsockoptTimeval(l, unix.SOL_SOCKET, unix.SO_RCVTIMEO, max(time.Until(deadline), time.Millisecond))
				var b [8]byte
				for {
					n, err := sys.Recv(l, b[:], 0)
					if n == 0 && err == nil {
						closed++
					}
					if n <= 0 || err != nil {
						break
					}
				}
			}
			if closed != 200 {
				t.Errorf("--idle 1s closed %d of 200 loris connections within 5s", closed)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Errorf("exit status %d; stderr %s", code, p.Stderr())
			}
		})
	}
}

// Every TCP input a user can get wrong: one line, exit 2 for usage and 1
// for runtime failures, never a hang.
func TestTCPBadInput(t *testing.T) {
	busy := startServer(t, socklab("tcp-echo-server", "--quiet", "0")...)
	busyPort := strconv.Itoa(busy.Port)
	busyEpoll := strconv.Itoa(startServer(t, socklab("tcp-echo-server", "--mode", "epoll", "--loops", "2", "--quiet", "0")...).Port)
	free := func() string { // a port nothing listens on
		fd, port, err := listenFree()
		if err != nil {
			t.Fatal(err)
		}
		sys.Close(fd)
		return strconv.Itoa(port)
	}()
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown mode", []string{"tcp-echo-server", "--mode", "prefork", "0"}, 2, `^invalid --mode "prefork": want iterative, fork, thread, select, poll or epoll\n$`},
		{"server no port", []string{"tcp-echo-server"}, 2, `^expected 1 argument, got 0\nUSAGE: socklab tcp-echo-server \[flags\] <port>\n$`},
		{"server port abc", []string{"tcp-echo-server", "abc"}, 2, `^invalid port "abc": want a number from 0 \(any free port\) to 65535\n$`},
		{"server port 70000", []string{"tcp-echo-server", "70000"}, 2, `^invalid port "70000"`},
		{"net select", []string{"tcp-echo-server", "--mode", "select", "--impl", "net", "0"}, 2, `^--impl net has no --mode select`},
		{"faithful poll", []string{"tcp-echo-server", "--mode", "poll", "--faithful", "0"}, 2, `^--faithful needs --mode select\n$`},
		{"loops 0", []string{"tcp-echo-server", "--mode", "epoll", "--loops", "0", "0"}, 2, `^invalid --loops 0: want 1 to 64\n$`},
		{"max-children without fork", []string{"tcp-echo-server", "--mode", "thread", "--max-children", "3", "0"}, 2, `^--max-children needs --mode fork\n$`},
		{"loops without epoll", []string{"tcp-echo-server", "--loops", "2", "0"}, 2, `^--loops needs --mode epoll\n$`},
		{"max-clients without select", []string{"tcp-echo-server", "--mode", "poll", "--max-clients", "9", "0"}, 2, `^--max-clients needs --mode thread or --mode select\n$`},
		{"max-clients over FD_SETSIZE", []string{"tcp-echo-server", "--mode", "select", "--max-clients", "2000", "0"}, 2, `^invalid --max-clients 2000: select watches descriptors below FD_SETSIZE, at most 1024\n$`},
		{"max-clients over the thread limit", []string{"tcp-echo-server", "--mode", "thread", "--max-clients", "10000", "0"}, 2, `^invalid --max-clients 10000: a thread a connection`},
		{"max-clients net thread", []string{"tcp-echo-server", "--mode", "thread", "--impl", "net", "--max-clients", "5", "0"}, 2, `^--max-clients needs --impl raw`},
		{"max-clients faithful", []string{"tcp-echo-server", "--mode", "select", "--faithful", "--max-clients", "5", "0"}, 2, `^--max-clients is not for --faithful: the tutorial's select server has no such bound, it waits for --clients a round and stops at FD_SETSIZE\n$`},
		{"clients without faithful", []string{"tcp-echo-server", "--mode", "select", "--clients", "3", "0"}, 2, `^--clients needs --mode select --faithful\n$`},
		{"negative idle", []string{"tcp-echo-server", "--idle=-1s", "0"}, 2, `^invalid --idle -1s: must not be negative\n$`},
		{"client too few", []string{"tcp-echo-client", "127.0.0.1", "x"}, 2, `^expected 3 arguments, got 2\nUSAGE: socklab tcp-echo-client`},
		{"client port 0", []string{"tcp-echo-client", "127.0.0.1", "x", "0"}, 2, `^invalid port "0": a client needs the server's port, 1 to 65535\n$`},
		{"client localhost raw", []string{"tcp-echo-client", "localhost", "x", "7"}, 2, `^invalid server_ip "localhost": the raw client takes a dotted-quad`},
		{"slow clients 0", []string{"tcp-slow-client", "--clients", "0", "127.0.0.1", "x", "7"}, 2, `^invalid --clients 0: want 1 to 1000\n$`},
		{"slow too many args", []string{"tcp-slow-client", "127.0.0.1", "x", "7", "8"}, 2, `^expected 3 arguments, got 4\nUSAGE: socklab tcp-slow-client`},
		{"port in use raw", []string{"tcp-echo-server", busyPort}, 1, `^Failed to bind server socket: address already in use\n$`},
		{"port in use net", []string{"tcp-echo-server", "--impl", "net", busyPort}, 1, `^Failed to bind server socket: address already in use\n$`},
		{"port in use epoll", []string{"tcp-echo-server", "--mode", "epoll", busyPort}, 1, `^Failed to bind server socket: address already in use\n$`},
		{"port of an epoll server", []string{"tcp-echo-server", "--mode", "epoll", "--loops", "2", busyEpoll}, 1, `^Failed to bind server socket: address already in use\n$`},
		{"backlog negative", []string{"tcp-echo-server", "--backlog=-1", "0"}, 2, `^invalid --backlog -1: want 1 to 65535, or 0 for the model's default\n$`},
		{"backlog too big", []string{"tcp-echo-server", "--backlog", "70000", "0"}, 2, `^invalid --backlog 70000`},
		{"backlog net", []string{"tcp-echo-server", "--impl", "net", "--backlog", "5", "0"}, 2, `^--backlog needs --impl raw`},
		{"refused raw", []string{"tcp-echo-client", "127.0.0.1", "x", free}, 1, `^Failed to connect with server: connection refused\n$`},
		{"refused net", []string{"tcp-echo-client", "--impl", "net", "127.0.0.1", "x", free}, 1, `^Failed to connect with server: connection refused\n$`},
		{"slow refused", []string{"tcp-slow-client", "--clients", "2", "127.0.0.1", "x", free}, 1, `^every one of the 2 clients failed; first: Failed to connect with server: connection refused\n$`},
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
	if code := busy.stop(t, syscall.SIGINT); code != 0 {
		t.Errorf("busy server exit status %d after SIGINT", code)
	}
}

// listenFree binds a TCP socket to a free loopback port.
func listenFree() (int, int, error) {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, 0, err
	}
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := sys.Bind(fd, &sa); err != nil {
		sys.Close(fd)
		return -1, 0, err
	}
	n := sys.SizeofSockaddrIn
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		sys.Close(fd)
		return -1, 0, err
	}
	return fd, sa.PortOf(), nil
}

// SIGINT and SIGTERM stop a server with open connections: exit 0, the
// connections closed.
func TestTCPSignalsCloseConnections(t *testing.T) {
	for _, mode := range []string{"iterative", "fork", "thread", "select", "poll", "epoll"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(mode+"/"+sig.String(), func(t *testing.T) {
				p := startServer(t, socklab("tcp-echo-server", "--mode", mode, "--quiet", "0")...)
				var wg sync.WaitGroup
				fds := []int{rawConnect(p.Port, 3*time.Second), rawConnect(p.Port, 3*time.Second)}
				defer closeAll(fds)
				time.Sleep(50 * time.Millisecond)
				if code := p.stop(t, sig); code != 0 {
					t.Errorf("exit status %d; stderr %s", code, p.Stderr())
				}
				for _, fd := range fds {
					sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 2*time.Second)
					var b [1]byte
					if n, err := sys.Recv(fd, b[:], 0); !(n == 0 && err == nil) && !errors.Is(err, unix.ECONNRESET) {
						t.Errorf("connection after the server stopped: recv %d, %v; want EOF or reset", n, err)
					}
				}
				wg.Wait()
			})
		}
	}
}

// The models built to scale listen with the kernel's somaxconn, the
// tutorial's iterative server with 20, and --backlog (SOCKLAB_BACKLOG for
// a C twin) sets it: with the server stopped (SIGSTOP), the kernel
// completes as many handshakes as the backlog holds, and the rest wait.
func TestTCPBacklog(t *testing.T) {
	const burst = 200
	if tcp.Somaxconn() < burst {
		t.Skipf("net.core.somaxconn is %d, below the %d this test opens", tcp.Somaxconn(), burst)
	}
	type tc struct {
		server   tcpServer
		env      []string
		min, max int // established handshakes
	}
	cases := []tc{
		{goServer("poll", "raw", true, "--backlog", "30"), nil, 25, 35},
		{cServer("poll", true), []string{"SOCKLAB_BACKLOG=30"}, 25, 35},
	}
	for _, s := range tcpServers {
		if strings.HasPrefix(s.name, "iterative/") && !strings.HasSuffix(s.name, "/net") {
			cases = append(cases, tc{s, nil, 15, 25})
		} else {
			cases = append(cases, tc{s, nil, burst, burst})
		}
	}
	for _, c := range cases {
		t.Run(strings.Join(append([]string{c.server.name}, c.env...), " "), func(t *testing.T) {
			argv := c.server.argv(t)
			p := startServerEnv(t, c.env, argv...)
			p.Cmd.Process.Signal(syscall.SIGSTOP)
			defer p.Cmd.Process.Signal(syscall.SIGCONT)
			// every thread stopped, so that none accepts a client of the burst
			for deadline := time.Now().Add(5 * time.Second); !proc.AllIn(p.Cmd.Process.Pid, 'T', 1); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the server did not stop on SIGSTOP")
				}
			}
			fds := make([]int, 0, burst)
			defer func() { closeAll(fds) }()
			for range burst {
				if fd := rawConnect(p.Port, 0); fd >= 0 {
					fds = append(fds, fd)
				}
			}
			established := 0
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				established = 0
				for _, fd := range fds {
					pfd := []sys.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
					if n, _ := sys.Poll(pfd, 0); n == 1 && pfd[0].Revents&unix.POLLOUT != 0 {
						established++
					}
				}
				if established >= c.max {
					break
				}
			}
			if established < c.min || established > c.max {
				t.Errorf("%d of %d handshakes completed against a stopped server; want %d to %d", established, burst, c.min, c.max)
			}
		})
	}
}

// SO_REUSEPORT lets a second epoll server of the same user join a port
// and take half its clients; the C twin refuses the port as the Go one
// does, and as every other model does.
func TestTCPEpollPortInUse(t *testing.T) {
	first := startServer(t, socklab("tcp-echo-server", "--mode", "epoll", "--loops", "2", "--quiet", "0")...)
	r := runCmd(t, 10*time.Second, cBinaryPthread(t, "tcp/testdata/epoll.c"), strconv.Itoa(first.Port), "2")
	if r.code != 1 || r.stderr != "Failed to bind server socket: Address already in use\n" {
		t.Errorf("C epoll on a port an epoll server holds: exit %d, stderr %q", r.code, r.stderr)
	}
}

// SIGHUP stops a server as SIGTERM does: a fork server, Go or C, exits 0
// and leaves no child behind, where by default it would die at once and
// its children would live on under init.
func TestTCPSIGHUP(t *testing.T) {
	for _, s := range []tcpServer{goServer("fork", "raw", true), cServer("fork", true), goServer("thread", "raw", true), cServer("thread", true)} {
		t.Run(s.name, func(t *testing.T) {
			p := startServer(t, s.argv(t)...)
			fd := rawConnect(p.Port, 5*time.Second)
			if fd < 0 {
				t.Fatal("no connection")
			}
			defer sys.Close(fd)
			if echo := echoOnce(t, p.Port, "hup"); echo != "hup" {
				t.Fatalf("echo %q", echo)
			}
			kids := proc.Children(p.Cmd.Process.Pid)
			if code := p.stop(t, syscall.SIGHUP); code != 0 {
				t.Errorf("exit status %d on SIGHUP; stderr %s", code, p.Stderr())
			}
			for _, kid := range kids {
				if proc.Exists(kid) {
					t.Errorf("child %d outlived its server", kid)
				}
			}
		})
	}
}

// The thread model serves at most --max-clients connections at once (the
// C twin's max_clients): one more is refused, reported and closed, and a
// place that frees up is taken again. Without the bound, 10000 clients
// end a Go server with "thread exhaustion".
func TestTCPThreadBound(t *testing.T) {
	for _, argv := range map[string]func() []string{
		"raw": func() []string {
			return socklab("tcp-echo-server", "--mode", "thread", "--quiet", "--max-clients", "3", "0")
		},
		"c": func() []string { return quietC(cBinaryPthread(t, "tcp/testdata/thread.c"), "0", "3") },
	} {
		p := startServer(t, argv()...)
		var held []int
		for range 3 {
			fd := rawConnect(p.Port, 5*time.Second)
			if fd < 0 {
				t.Fatal("no connection")
			}
			held = append(held, fd)
			sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second)
			if n, err := sys.Send(fd, []byte("x"), 0); n != 1 || err != nil {
				t.Fatal(err)
			}
			var b [1]byte
			if n, err := sys.Recv(fd, b[:], 0); n != 1 || err != nil { // served by its thread
				t.Fatalf("held connection: recv %d, %v", n, err)
			}
		}
		fourth := rawConnect(p.Port, 5*time.Second)
		sys.SetsockoptTimeval(fourth, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second)
		var b [1]byte
		if n, err := sys.Recv(fourth, b[:], 0); n != 0 || err != nil {
			t.Errorf("%v: the fourth client: recv %d, %v; want EOF, refused", p.Cmd.Args, n, err)
		}
		sys.Close(fourth)
		sys.Close(held[0])
		var echo string
		for deadline := time.Now().Add(5 * time.Second); echo != "again" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			echo = echoOnce(t, p.Port, "again") // once the first thread has seen its EOF
		}
		if echo != "again" {
			t.Errorf("%v: after a place freed up: %q", p.Cmd.Args, echo)
		}
		closeAll(held[1:])
		if code := p.stop(t, syscall.SIGTERM); code != 0 || !strings.Contains(p.Stderr(), ": 3 threads (--max-clients 3); 1 refused so far") {
			t.Errorf("%v: exit %d, stderr %q", p.Cmd.Args, code, p.Stderr())
		}
	}
}

// fullBacklog returns the port of a listener that accepts nothing and
// whose queue is full: listen(0) and connections made until one does not
// complete at once, its SYN dropped. A further connect waits for the
// kernel's retransmissions, a second and more each.
func fullBacklog(t *testing.T) int {
	t.Helper()
	fd, port, err := listenFree()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(fd) })
	if err := sys.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	var held []int
	t.Cleanup(func() { closeAll(held) })
	for range 64 {
		c := rawConnect(port, 200*time.Millisecond)
		if c < 0 {
			return port
		}
		held = append(held, c)
	}
	t.Fatalf("64 connections to a listen(0) socket that accepts none all completed")
	return 0
}

// A connect the server does not answer ends after the client's
// --timeout, saying so: SO_SNDTIMEO cuts the raw client's connect short
// with EINPROGRESS, the net twin's dial with "i/o timeout"; both report
// ETIMEDOUT and the timeout. The slow client's connections share the
// connect and say it too.
func TestTCPConnectTimeout(t *testing.T) {
	const timeout = time.Second
	port := strconv.Itoa(fullBacklog(t))
	want := "Failed to connect with server: connection timed out after 1s"
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"raw", []string{"tcp-echo-client", "--timeout", timeout.String(), "127.0.0.1", "x", port}, want + "\n"},
		{"net", []string{"tcp-echo-client", "--impl", "net", "--timeout", timeout.String(), "127.0.0.1", "x", port}, want + "\n"},
		{"slow/raw", []string{"tcp-slow-client", "--clients", "2", "--timeout", timeout.String(), "127.0.0.1", "x", port},
			"every one of the 2 clients failed; first: " + want + "\n"},
		{"slow/net", []string{"tcp-slow-client", "--impl", "net", "--clients", "2", "--timeout", timeout.String(), "127.0.0.1", "x", port},
			"every one of the 2 clients failed; first: " + want + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, 20*time.Second, socklab(c.args...)...)
			if r.code != 1 || r.stdout != "" || r.stderr != c.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", r.code, r.stdout, r.stderr, c.stderr)
			}
			if r.elapsed < timeout*9/10 || r.elapsed > timeout+2*time.Second {
				t.Errorf("gave up after %v; --timeout %v", r.elapsed, timeout)
			}
		})
	}
}

// slowClients is every slow client, the raw and net subcommands and the C
// twin, with the same clients and delay.
var slowClients = []struct {
	name string
	argv func(t testing.TB, port, clients int) []string
}{
	{"raw", goSlow("raw")},
	{"net", goSlow("net")},
	{"c", func(t testing.TB, port, clients int) []string {
		return []string{cBinaryPthread(t, "tcp/testdata/slow_client.c"), "127.0.0.1", "x", strconv.Itoa(port), strconv.Itoa(clients), "20"}
	}},
}

func goSlow(impl string) func(testing.TB, int, int) []string {
	return func(_ testing.TB, port, clients int) []string {
		return socklab("tcp-slow-client", "--impl", impl, "--clients", strconv.Itoa(clients), "--delay", "20ms", "--timeout", "10s",
			"127.0.0.1", "x", strconv.Itoa(port))
	}
}

// When every connection fails, the slow clients say so in one line with
// the first's reason and print no time, as if nothing had been timed;
// when one succeeds, each failed one is named and the time printed. The
// Go clients name them in one line, the C twin in a line each.
func TestTCPSlowClientFailures(t *testing.T) {
	fd, refused, err := listenFree() // bound, not listening: connect is refused
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	one := startServer(t, socklab("tcp-echo-server", "--mode", "thread", "--max-clients", "1", "--quiet", "0")...)
	defer one.stop(t, syscall.SIGTERM)
	failure := `connection [0-2]: [^;\n]+`
	for _, c := range []struct {
		name, client   string
		port           int
		stdout, stderr string // patterns
	}{
		{"refused", "raw", refused, ``, `every one of the 3 clients failed; first: Failed to connect with server: connection refused\n`},
		{"refused", "net", refused, ``, `every one of the 3 clients failed; first: Failed to connect with server: connection refused\n`},
		{"refused", "c", refused, ``, `every one of the 3 clients failed; first: Failed to connect with server: Connection refused\n`},
		// one connection served, the others refused by --max-clients 1
		{"one served", "raw", one.Port, `Received: x \[[0-2]\]\n\d+\.\d\d seconds\n`, failure + "; " + failure + "\n"},
		{"one served", "net", one.Port, `Received: x \[[0-2]\]\n\d+\.\d\d seconds\n`, failure + "; " + failure + "\n"},
		{"one served", "c", one.Port, `Received: x \[[0-2]\]\n\d+\.\d\d seconds\n`, failure + "\n" + failure + "\n"},
	} {
		t.Run(c.name+"/"+c.client, func(t *testing.T) {
			var argv []string
			for _, k := range slowClients {
				if k.name == c.client {
					argv = k.argv(t, c.port, 3)
				}
			}
			r := runCmd(t, 30*time.Second, argv...)
			if r.code != 1 || !regexp.MustCompile(`^`+c.stdout+`$`).MatchString(r.stdout) || !regexp.MustCompile(`^`+c.stderr+`$`).MatchString(r.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, %q, %q", r.code, r.stdout, r.stderr, c.stdout, c.stderr)
			}
		})
	}
}

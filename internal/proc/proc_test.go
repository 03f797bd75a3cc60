package proc_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestListeningPort(t *testing.T) {
	for line, want := range map[string]int{
		"Listening on port 4242":     4242,
		"Listening on port 7\r":      7,
		"Listening on port":          0,
		"Listening on port 12 more":  0,
		" Listening on port 12":      0,
		"Client connected: 1.2.3.4":  0,
		"Listening on port 99999999": 99999999,
	} {
		got, ok := proc.ListeningPort([]byte(line))
		if got != want || ok != (want != 0) {
			t.Errorf("ListeningPort(%q) = %d, %v; want %d", line, got, ok, want)
		}
	}
}

func TestOutput(t *testing.T) {
	o := proc.NewOutput()
	for _, chunk := range []string{"Client connected: 127.0.0.1\nListen", "ing on port 5\nListening on port 6\n", "a\nb\nc\nd\ne\nf\ng"} {
		o.Write([]byte(chunk))
	}
	if p := <-o.Port(); p != 5 {
		t.Errorf("port %d, want the first line's 5", p)
	}
	if got := o.Tail(); got != "b / c / d / e / f" {
		t.Errorf("Tail %q: want the last five whole lines, without the reports", got)
	}
	if !strings.HasPrefix(o.String(), "Client connected") || !strings.HasSuffix(o.String(), "g") {
		t.Errorf("String %q: want all that was written", o.String())
	}
}

// A server's whole life: its port, its place among our children, the call
// it blocks in, its stop.
func TestServer(t *testing.T) {
	ctx := context.Background()
	s, err := proc.Start(ctx, "sleeper", []string{"sh", "-c", "echo Listening on port 4321 >&2; exec sleep 30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Cmd.Process.Pid
	if s.Port != 4321 {
		t.Errorf("port %d, want 4321", s.Port)
	}
	if !slices.Contains(proc.Children(os.Getpid()), pid) || !slices.Contains(proc.Descendants(os.Getpid()), pid) {
		t.Errorf("pid %d not among our children %v", pid, proc.Children(os.Getpid()))
	}
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := proc.BlockedIn(bctx, pid, []string{"nanosleep", "clock_nanosleep"}); err != nil {
		t.Error(err)
	}
	if !proc.AllIn(pid, 'S', 1) || proc.AllIn(pid, 'S', 2) || proc.AllIn(pid, 'T', 1) {
		t.Errorf("sleep (one thread, asleep): AllIn says otherwise")
	}
	if proc.InSyscall(pid, []string{"recvfrom", "accept4"}) {
		t.Errorf("sleep is in recvfrom or accept4")
	}
	if proc.Exited(pid) || !proc.Exists(pid) {
		t.Errorf("a running process reported gone")
	}
	state, err := s.Stop(syscall.SIGTERM)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.StoppedWell(state); err != nil {
		t.Errorf("sleep killed by SIGTERM: %v", err)
	}
	if !s.Exited() || proc.Exists(pid) {
		t.Errorf("pid %d still there after Stop", pid)
	}
}

func TestServerExitsBeforeListening(t *testing.T) {
	_, err := proc.Start(context.Background(), "failing", []string{"sh", "-c", "echo Failed to bind: EADDRINUSE >&2; exit 1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "EADDRINUSE") {
		t.Errorf("err %v: want the exit and the program's last words", err)
	}
}

// A server that ignores SIGTERM is killed at the bound, and that is an
// error; one that exits 3 did not stop well.
func TestServerStopBounds(t *testing.T) {
	s, err := proc.Start(context.Background(), "stubborn", []string{"sh", "-c", "trap '' TERM; echo Listening on port 1 >&2; while :; do sleep 0.1; done"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Stop(syscall.SIGTERM); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Stop of a server ignoring SIGTERM: %v", err)
	}
	if d := time.Since(start); d > proc.StopTimeout+proc.StopTimeout {
		t.Errorf("Stop took %v", d)
	}
	s, err = proc.Start(context.Background(), "three", []string{"sh", "-c", "trap 'exit 3' TERM; echo Listening on port 1 >&2; while :; do sleep 0.1; done"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state, err := s.Stop(syscall.SIGTERM)
	if err != nil || proc.StoppedWell(state) == nil {
		t.Errorf("exit 3 on SIGTERM: %v, %v; want a bad stop", state, err)
	}
	if testenv.Children() != nil {
		t.Errorf("children left: %v", testenv.Children())
	}
}

// Spinning raises our CPU time: within 5 s of wall time, however loaded
// the machine, by at least a tick.
func TestCPUTime(t *testing.T) {
	before, ok := proc.CPUTime(os.Getpid())
	if !ok {
		t.Fatal("no CPU time for this process")
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		if now, _ := proc.CPUTime(os.Getpid()); now > before {
			return
		}
	}
	t.Errorf("CPU time still %d ticks after 5 s of spinning", before)
}

// StartPipe reads the port line, and only up to it, from a stderr pipe
// of one page, which the caller then reads on.
func TestServerPipe(t *testing.T) {
	s, r, err := proc.StartPipe(context.Background(), "piped",
		[]string{"sh", "-c", "echo noise >&2; echo Listening on port 4321 >&2; echo after >&2; exec sleep 30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer s.Kill()
	if s.Port != 4321 {
		t.Errorf("port %d, want 4321", s.Port)
	}
	var size int
	rc, err := r.SyscallConn() // not Fd, which would make r blocking, without deadlines
	if err == nil {
		rc.Control(func(fd uintptr) { size, err = sys.FcntlInt(int(fd), unix.F_GETPIPE_SZ, 0) })
	}
	if err != nil || size != os.Getpagesize() {
		t.Errorf("pipe of %d bytes (%v), want one page, %d", size, err, os.Getpagesize())
	}
	if err := r.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, err := r.Read(b)
	if err != nil || string(b[:n]) != "after\n" {
		t.Errorf("read after the port line: %q, %v; want \"after\\n\"", b[:n], err)
	}
	if state, err := s.Stop(syscall.SIGTERM); err != nil || proc.StoppedWell(state) != nil {
		t.Errorf("stop: %v, %v", state, err)
	}
}

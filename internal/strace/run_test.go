package strace_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

const helperEnv = "SOCKLAB_STRACE_HELPER"

// TestMain lets the test binary serve as the traced program, and fails
// the run when a test leaks a descriptor or leaves a child behind.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "udp-echo" {
		os.Exit(udpEcho())
	}
	before := openFDs()
	code := m.Run()
	if code == 0 {
		for fd, what := range openFDs() {
			if _, ok := before[fd]; !ok && !strings.HasPrefix(what, "anon_inode:") {
				// the runtime's poller (eventpoll, eventfd) stays open
				fmt.Fprintf(os.Stderr, "leaked descriptor %s: %s\n", fd, what)
				code = 1
			}
		}
		// Go forks from any thread; each task lists its own children.
		files, _ := filepath.Glob("/proc/self/task/*/children")
		for _, f := range files {
			if kids, _ := os.ReadFile(f); len(strings.TrimSpace(string(kids))) > 0 {
				fmt.Fprintf(os.Stderr, "children left behind: %s\n", kids)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// openFDs maps this process's open descriptors to what they are.
func openFDs() map[string]string {
	fds := make(map[string]string)
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if what, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			fds[e.Name()] = what
		}
	}
	return fds
}

// udpEcho prints its address, echoes one datagram and exits 0 on SIGTERM
// (or after 20 seconds).
func udpEcho() int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pc.LocalAddr())
	go func() {
		buf := make([]byte, 64)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(buf[:n], from)
		}
	}()
	select {
	case <-sigs:
	case <-time.After(20 * time.Second):
		return 3
	}
	pc.Close()
	return 0
}

// needStrace skips (or fails, in CI) when strace is missing or cannot
// trace here (ptrace denied in a container).
func needStrace(t *testing.T) {
	t.Helper()
	testenv.Tool(t, "strace")
	if out, err := exec.Command("strace", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		testenv.Missing(t, "ptrace for strace", fmt.Errorf("%v: %s", err, out))
	}
}

func TestCommandArgs(t *testing.T) {
	cmd := strace.Command(context.Background(), "/tmp/t", []string{"prog", "-x"}, "read", "write")
	args := strings.Join(cmd.Args[1:], " ")
	want := "-f -q -y -o /tmp/t -e trace=" + strings.Join(strace.Syscalls(), ",") + ",read,write -- prog -x"
	if args != want {
		t.Errorf("strace %s\nwant   %s", args, want)
	}
}

func TestServerUnderStrace(t *testing.T) {
	needStrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "trace")
	cmd := strace.Command(ctx, file, []string{os.Args[0]})
	// atexit_sleep_ms: a -race helper would sleep a second on exit
	cmd.Env = append(os.Environ(), helperEnv+"=udp-echo", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's address: %v (stderr: %s)", err, stderr.String())
	}

	c, err := net.Dial("udp", strings.TrimSpace(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("echo: %q, %v", buf[:n], err)
	}

	pid, err := strace.TraceePID(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	self, _ := os.Executable()
	if pid == cmd.Process.Pid || exe != self {
		t.Errorf("TraceePID = %d running %q; strace is %d, the test binary %q", pid, exe, cmd.Process.Pid, self)
	}
	if err := strace.Signal(ctx, cmd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("strace: %v (stderr: %s)", err, stderr.String())
	}

	calls, err := strace.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var gotTerm bool
	var last strace.Call
	for _, c := range calls {
		// The kernel hands a process's signal to any of its threads;
		// strace names the thread.
		if c.Kind == strace.KindSignal && c.Signal == "SIGTERM" {
			gotTerm = true
		}
		if c.PID == pid {
			last = c
		}
	}
	if !gotTerm {
		t.Error("no SIGTERM in the trace")
	}
	if last.Kind != strace.KindExit || last.ExitCode != 0 {
		t.Errorf("the server's last record: %v", last)
	}

	steps := strace.Network(calls)
	want := []string{"socket", "setsockopt", "bind", "getsockname", "recvfrom", "sendto", "close"}
	if fams := strace.Families(steps); !subsequence(want, fams) {
		t.Errorf("network families %q lack %q in order", fams, want)
	}
	if len(steps) == 0 || !steps[0].HasFlag(1, "SOCK_NONBLOCK") {
		t.Errorf("first step %v: want net's nonblocking socket", steps)
	}
	for _, s := range steps {
		if s.Proc != 1 || len(s.Refs) > 0 && s.Refs[0] != "sock#1" {
			t.Errorf("step %v: want one process, one socket", s)
		}
	}
}

func subsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestKilledUnderStrace(t *testing.T) {
	needStrace(t)
	sleep := testenv.Tool(t, "sleep")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	file := filepath.Join(t.TempDir(), "trace")
	cmd := strace.Command(ctx, file, []string{sleep, "20"}, "?nanosleep", "?clock_nanosleep")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := strace.Signal(ctx, cmd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("Wait: %v, want strace to die of SIGTERM", err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("strace ended with %v, want killed by SIGTERM like its tracee", exit)
	}
	if ctx.Err() != nil {
		t.Fatal("the sleep ran out its time: the signal did not arrive")
	}
	calls, err := strace.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatal("empty trace")
	}
	last := calls[len(calls)-1]
	if last.Kind != strace.KindKilled || last.Signal != "SIGTERM" {
		t.Errorf("last record %v, want killed by SIGTERM", last)
	}
	// The program may not have reached its sleep when the signal came;
	// if it had, the sleep is the interrupted call.
	for _, c := range calls {
		if strings.Contains(c.Name, "sleep") && !(c.NoReturn && strings.HasPrefix(c.Errno, "ERESTART")) {
			t.Errorf("sleep call %v: want interrupted", c)
		}
	}
}

func TestRun(t *testing.T) {
	needStrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	truePath := testenv.Tool(t, "true")
	calls, out, err := strace.Run(ctx, filepath.Join(dir, "true.trace"), []string{truePath})
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(calls) < 2 || calls[0].Name != "execve" || calls[len(calls)-1].Kind != strace.KindExit {
		t.Errorf("trace of true: %v", calls)
	}
	if steps := strace.Network(calls); len(steps) != 0 {
		t.Errorf("true has network steps %v", steps)
	}

	falsePath := testenv.Tool(t, "false")
	calls, _, err = strace.Run(ctx, filepath.Join(dir, "false.trace"), []string{falsePath})
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("Run(false): %v, want exit status 1", err)
	}
	if len(calls) == 0 || calls[len(calls)-1].ExitCode != 1 {
		t.Errorf("trace of false: %v", calls)
	}
}

func TestTraceePIDErrors(t *testing.T) {
	if _, err := strace.TraceePID(context.Background(), exec.Command("true")); err == nil {
		t.Error("TraceePID of an unstarted command succeeded")
	}

	needStrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := strace.Command(ctx, filepath.Join(t.TempDir(), "trace"), []string{"/nonexistent/program"})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, err := strace.TraceePID(ctx, cmd)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("TraceePID of a program that cannot start: %v, want strace's exit", err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("strace of a missing program succeeded")
	}
}

func TestCommandCancel(t *testing.T) {
	needStrace(t)
	sleep := testenv.Tool(t, "sleep")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := strace.Command(ctx, filepath.Join(t.TempDir(), "trace"), []string{sleep, "30"})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	pid, err := strace.TraceePID(wctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	// strace dies of the signal that killed its tracee: SIGKILL.
	if err := cmd.Wait(); err == nil {
		t.Error("Wait after cancel succeeded")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("cancel took %v: strace outlived its killed tracee", d)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); slices.Contains(strings.Split(string(b), "\x00"), "30") {
			t.Errorf("tracee %d still runs after cancel", pid)
		}
	}
}

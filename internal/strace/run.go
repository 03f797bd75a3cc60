package strace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/proc"
)

// Syscalls returns the trace set of every Command, before the extras:
// the network class, close, process and thread creation, execve, the dup
// family, fcntl, restart_syscall and rt_sigreturn, which Network needs to
// follow descriptors and to tell a signal handler's calls from the
// program's. A "?" prefix lets strace ignore a name the architecture
// lacks (arm64 has no fork, vfork or dup2).
func Syscalls() []string {
	return []string{
		"%network", "close",
		"clone", "?clone3", "?fork", "?vfork", "execve",
		"dup", "?dup2", "dup3", "fcntl", "restart_syscall", "rt_sigreturn",
	}
}

// ReadinessSyscalls returns the extras that show select, poll and epoll
// under every name they enter the kernel as, for Command's extra.
func ReadinessSyscalls() []string {
	return []string{
		"?select", "pselect6", "?poll", "ppoll",
		"?epoll_create", "epoll_create1", "epoll_ctl", "?epoll_wait", "epoll_pwait", "?epoll_pwait2",
	}
}

// Available reports whether strace is on PATH.
func Available() error {
	if _, err := exec.LookPath("strace"); err != nil {
		return fmt.Errorf("strace: %w", err)
	}
	return nil
}

// Command returns a command that runs argv under
//
//	strace -f -q -y -o traceFile -e trace=<Syscalls>,<extra> -- argv...
//
// -f follows forks and threads, -q keeps exit and signal lines but drops
// attach messages, -y annotates descriptors (3<socket:[9319]>).
//
// Stop a server with Signal, not by signalling the command: strace writing
// to a file blocks SIGTERM and SIGINT while its tracee runs, and a strace
// that is killed detaches and leaves the program running untraced. strace
// exits with its tracee's status, or dies of the signal that killed it.
// When ctx is done, the tracee and its descendants are killed (SIGKILL),
// and strace after it if it has not exited within five seconds.
func Command(ctx context.Context, traceFile string, argv []string, extra ...string) *exec.Cmd {
	set := strings.Join(append(Syscalls(), extra...), ",")
	args := append([]string{"-f", "-q", "-y", "-o", traceFile, "-e", "trace=" + set, "--"}, argv...)
	cmd := exec.CommandContext(ctx, "strace", args...)
	cmd.Cancel = func() error {
		pids := proc.Descendants(cmd.Process.Pid)
		if len(pids) == 0 {
			return cmd.Process.Kill()
		}
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill() // it may have exited already
				_ = p.Release()
			}
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs argv under strace to completion (see Command) and returns the
// parsed trace and the program's combined output. The calls are returned
// also when the program fails.
func Run(ctx context.Context, traceFile string, argv []string, extra ...string) ([]Call, []byte, error) {
	out, err := Command(ctx, traceFile, argv, extra...).CombinedOutput()
	calls, perr := ParseFile(traceFile)
	if err != nil {
		return calls, out, fmt.Errorf("strace: %s: %w", strings.Join(argv, " "), err)
	}
	return calls, out, perr
}

// TraceePID returns the pid of the program a started Command traces,
// waiting until strace has exec'd it: the child of the strace process
// whose executable is no longer strace's. It fails when ctx is done or
// strace has exited first; once the program itself has exited, it waits
// for one of those. The program's own children are its, not strace's:
// ptrace does not reparent them.
func TraceePID(ctx context.Context, cmd *exec.Cmd) (int, error) {
	if cmd.Process == nil {
		return 0, errors.New("strace: TraceePID: command not started")
	}
	sp := cmd.Process.Pid
	self, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", sp))
	if err != nil {
		return 0, fmt.Errorf("strace: pid %d: %w", sp, err)
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		for _, pid := range proc.Children(sp) {
			exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if err == nil && exe != self {
				return pid, nil
			}
		}
		if proc.Exited(sp) {
			return 0, fmt.Errorf("strace: pid %d exited before its tracee started", sp)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("strace: waiting for the tracee of pid %d: %w", sp, ctx.Err())
		case <-tick.C:
		}
	}
}

// Signal sends sig to the program a started Command traces (not to
// strace; see Command).
func Signal(ctx context.Context, cmd *exec.Cmd, sig os.Signal) error {
	pid, err := TraceePID(ctx, cmd)
	if err != nil {
		return err
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("strace: tracee %d: %w", pid, err)
	}
	defer p.Release()
	if err := p.Signal(sig); err != nil {
		return fmt.Errorf("strace: signal tracee %d: %w", pid, err)
	}
	return nil
}

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

// tracedServer is a server a test runs under strace: started, listening,
// its traced program's pid known. The one way the parity tests run a
// server; they drive it, wait for it to block, and stop it.
type tracedServer struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	cmd    *exec.Cmd
	trace  string
	Port   int // from its "Listening on port N" line
	PID    int // the traced program, not strace
	done   bool
}

// startTraced starts argv (ending in port 0) under strace, tracing extra
// system calls beside strace.Syscalls, and waits for its port. Everything
// is bounded by limit; a test that fails midway kills it at cleanup.
func startTraced(t *testing.T, limit time.Duration, argv []string, extra ...string) *tracedServer {
	t.Helper()
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	s := &tracedServer{t: t, ctx: ctx, cancel: cancel, trace: filepath.Join(t.TempDir(), "trace")}
	s.cmd = strace.Command(ctx, s.trace, argv, extra...)
	out := proc.NewOutput()
	s.cmd.Stderr = out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !s.done { // a failed test: kill the tracee, reap strace
			cancel()
			s.cmd.Wait()
		}
		cancel()
	})
	select {
	case s.Port = <-out.Port():
	case <-ctx.Done():
		t.Fatalf("%v did not report its port: %s", argv, out.Tail())
	}
	var err error
	if s.PID, err = strace.TraceePID(ctx, s.cmd); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitBlocked waits until the server is blocked in one of the system
// calls names, so that every run reaches the same point.
func (s *tracedServer) waitBlocked(names ...string) {
	s.t.Helper()
	if err := waitBlocked(s.ctx, s.PID, names); err != nil {
		s.t.Fatal(err)
	}
}

// stop sends SIGTERM to the traced program, requires a clean exit, and
// returns the network steps of every process of the trace.
func (s *tracedServer) stop() []strace.Step {
	s.t.Helper()
	if err := strace.Signal(s.ctx, s.cmd, syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	s.done = true
	if err := s.cmd.Wait(); err != nil {
		s.t.Fatalf("traced server did not exit cleanly on SIGTERM: %v", err)
	}
	calls, err := strace.ParseFile(s.trace)
	if err != nil {
		s.t.Fatal(err)
	}
	return strace.Network(calls)
}

// waitBlocked waits, at most 5 s, until a thread of pid is blocked in one
// of the system calls names.
func waitBlocked(ctx context.Context, pid int, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return proc.BlockedIn(ctx, pid, names)
}

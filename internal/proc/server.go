package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Bounds on a server's start and stop.
const (
	StartTimeout = 10 * time.Second // for its "Listening on port N"
	StopTimeout  = 5 * time.Second  // from the signal to its exit, before SIGKILL
)

// Server is a program started on port 0 that reports the port it got.
type Server struct {
	Name string
	Cmd  *exec.Cmd
	Port int
	Out  *Output // its stderr and stdout

	done chan struct{} // closed when Wait has returned
	err  error         // Wait's result, once done
}

// Start starts argv (ending in port 0) with env added to this process's
// environment, and waits at most StartTimeout for its port. The server is
// killed should this process die first (Pdeathsig). On error nothing is
// left running.
func Start(ctx context.Context, name string, argv, env []string) (*Server, error) {
	s := &Server{Name: name, Cmd: exec.Command(argv[0], argv[1:]...), Out: NewOutput(), done: make(chan struct{})}
	s.Cmd.Env = append(os.Environ(), env...)
	s.Cmd.Stdout, s.Cmd.Stderr = s.Out, s.Out
	s.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.Cmd.WaitDelay = StopTimeout // a forked child that keeps stderr open does not hold Wait
	if err := s.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s server: %w", name, err)
	}
	go func() { s.err = s.Cmd.Wait(); close(s.done) }()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	var err error
	select {
	case s.Port = <-s.Out.Port():
		return s, nil
	case <-s.done:
		err = fmt.Errorf("the %s server exited before listening (%v): %s", name, s.err, s.Out.Tail())
	case <-timer.C:
		err = fmt.Errorf("the %s server did not report its port within %v: %s", name, StartTimeout, s.Out.Tail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Kill()
	return nil, err
}

// Exited reports whether the server has ended and been reaped.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends sig and waits at most StopTimeout for the server to exit;
// then it kills it and says so. It returns how the server ended.
func (s *Server) Stop(sig os.Signal) (*os.ProcessState, error) {
	if !s.Exited() {
		s.Cmd.Process.Signal(sig)
	}
	timer := time.NewTimer(StopTimeout)
	defer timer.Stop()
	select {
	case <-s.done:
		return s.Cmd.ProcessState, nil
	case <-timer.C:
		s.Kill()
		return s.Cmd.ProcessState, fmt.Errorf("the %s server did not exit within %v of %v; killed", s.Name, StopTimeout, sig)
	}
}

// Kill ends the server with SIGKILL, if it runs, and reaps it.
func (s *Server) Kill() {
	if !s.Exited() {
		s.Cmd.Process.Kill()
	}
	<-s.done
}

// StoppedWell reports whether a server's end after SIGTERM or SIGINT is a
// clean one: exit 0 (socklab's servers), or death by that signal (a C
// twin without a handler for it). Otherwise it returns the reason.
func StoppedWell(state *os.ProcessState) error {
	if state == nil {
		return errors.New("not reaped")
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGINT) {
		return nil
	}
	if state.ExitCode() != 0 {
		return fmt.Errorf("%v", state)
	}
	return nil
}

package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
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
	s := newServer(name, argv, env)
	s.Cmd.Stdout, s.Cmd.Stderr = s.Out, s.Out
	if err := s.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s server: %w", name, err)
	}
	if err := s.waitPort(ctx, s.Out.Port()); err != nil {
		return nil, err
	}
	return s, nil
}

// StartAt starts argv, a server given a fixed port (which it does not
// report), with env added to this process's environment, and waits at
// most StartTimeout for ready to report that it serves, asking every
// 20 ms. On error nothing is left running.
func StartAt(ctx context.Context, name string, argv, env []string, port int, ready func() bool) (*Server, error) {
	s := newServer(name, argv, env)
	s.Cmd.Stdout, s.Cmd.Stderr = s.Out, s.Out
	if err := s.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s server: %w", name, err)
	}
	served := make(chan int, 1)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for !ready() {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
		served <- port
	}()
	if err := s.waitPort(ctx, served); err != nil {
		return nil, err
	}
	return s, nil
}

// StartPipe is Start with the server's stderr a pipe of one page, the
// least the kernel allows, whose read end it returns once it has read the
// "Listening on port N" line from it: the caller reads on, stops reading
// (a stalled stderr: the server's next writes fill the pipe and block) or
// closes it (a closed stderr: the next write fails with EPIPE). Out keeps
// the server's stdout only.
func StartPipe(ctx context.Context, name string, argv, env []string) (*Server, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer w.Close() // the server's copy stays open
	if _, err := sys.FcntlInt(int(w.Fd()), unix.F_SETPIPE_SZ, os.Getpagesize()); err != nil {
		r.Close()
		return nil, nil, err
	}
	s := newServer(name, argv, env)
	s.Cmd.Stdout, s.Cmd.Stderr = s.Out, w
	if err := s.Cmd.Start(); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("starting the %s server: %w", name, err)
	}
	port := make(chan int, 1)
	go func() { // the first line that names the port, read a byte at a time
		r.SetReadDeadline(time.Now().Add(StartTimeout))
		var line []byte
		b := make([]byte, 1)
		for {
			if _, err := r.Read(b); err != nil {
				return
			}
			if b[0] != '\n' {
				line = append(line, b[0])
				continue
			}
			if p, ok := ListeningPort(line); ok {
				port <- p
				return
			}
			line = line[:0]
		}
	}()
	if err := s.waitPort(ctx, port); err != nil {
		r.Close()
		return nil, nil, err
	}
	r.SetReadDeadline(time.Time{})
	return s, r, nil
}

func newServer(name string, argv, env []string) *Server {
	s := &Server{Name: name, Cmd: exec.Command(argv[0], argv[1:]...), Out: NewOutput(), done: make(chan struct{})}
	s.Cmd.Env = append(os.Environ(), env...)
	s.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.Cmd.WaitDelay = StopTimeout // a forked child that keeps stderr open does not hold Wait
	return s
}

// waitPort waits for the started server's port, at most StartTimeout; on
// error it kills the server.
func (s *Server) waitPort(ctx context.Context, port <-chan int) error {
	go func() { s.err = s.Cmd.Wait(); close(s.done) }()
	timer := time.NewTimer(StartTimeout)
	defer timer.Stop()
	var err error
	select {
	case s.Port = <-port:
		return nil
	case <-s.done:
		err = fmt.Errorf("the %s server exited before listening (%v): %s", s.Name, s.err, s.Out.Tail())
	case <-timer.C:
		err = fmt.Errorf("the %s server did not report its port within %v: %s", s.Name, StartTimeout, s.Out.Tail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Kill()
	return err
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

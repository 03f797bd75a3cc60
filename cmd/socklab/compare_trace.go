package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// tracedProc is a program compare runs under strace.
type tracedProc struct {
	cmd    *exec.Cmd
	kill   context.CancelFunc // kills the tracee and its descendants (strace.Command)
	out    *proc.Output
	done   chan struct{} // closed when Wait has returned
	err    error         // Wait's result, once done
	signal sync.Once
}

// trace runs argv under strace and returns its network steps. A client
// runs to completion; a server is asked once by compare's own raw client
// (once per worker, for a server with workers),
// left to block again in one of the system calls idle, and stopped with
// SIGTERM. Every run is bounded by the comparison's timeout, and ends
// early, its program stopped and reaped, when ctx is done (Ctrl-C).
func (r *comparison) trace(ctx context.Context, name string, argv, idle []string) ([]strace.Step, error) {
	file := filepath.Join(r.dir, name+".trace")
	// The hard bound, should SIGTERM not end the program: kill it.
	runCtx, kill := context.WithTimeout(context.Background(), r.timeout+10*time.Second)
	defer kill()
	extra := append(strace.ReadinessSyscalls(), "read", "write")
	p := &tracedProc{cmd: strace.Command(runCtx, file, argv, extra...), kill: kill,
		out: proc.NewOutput(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	deadline, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	var err error
	if r.spec.server {
		err = r.askServer(deadline, p, idle)
		if serr := p.stop(); err == nil && serr != nil {
			err = fmt.Errorf("did not exit cleanly on SIGTERM: %w", serr)
		}
	} else {
		select {
		case <-p.done:
			err = p.err
		case <-deadline.Done():
			p.stop()
			err = deadline.Err()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		} else if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("still running after --timeout %v", r.timeout)
		}
		return nil, fmt.Errorf("%w; its output: %q", err, strings.TrimSpace(p.out.String()))
	}
	calls, err := strace.ParseFile(file)
	if err != nil {
		return nil, err
	}
	steps := probeProcs(strace.Serialize(strace.Network(calls), r.spec.threaded))
	if r.spec.spins {
		steps = strace.Collapse(steps)
	}
	return steps, nil
}

// probeProcs names "probe" each process that a fork made and that made no
// step of its own, and numbers the others as if it had not been made, as
// strace.Align names net's probe sockets probe#N: os/exec's first Start
// clones a child that exits at once, to learn whether clone takes
// CLONE_PIDFD (syscall.checkClonePidfd), and that child must not shift the
// names of the processes that matter. The fork stays a row of its own.
func probeProcs(steps []strace.Step) []strace.Step {
	stepped := map[int]bool{}
	for _, s := range steps {
		stepped[s.Proc] = true
	}
	number := map[int]int{1: 1}
	last := 1
	out := make([]strace.Step, len(steps))
	for i, s := range steps {
		if n, err := strconv.Atoi(strings.TrimPrefix(s.New, "proc#")); s.Family == "fork" && err == nil {
			if stepped[n] {
				last++
				number[n] = last
				s.New = fmt.Sprintf("proc#%d", last)
			} else {
				s.New = "probe"
			}
		}
		if n, ok := number[s.Proc]; ok {
			s.Proc = n
		}
		out[i] = s
	}
	return out
}

// askServer waits for the server's port, makes one request when it is
// blocked, and returns once it blocks again.
func (r *comparison) askServer(ctx context.Context, p *tracedProc, idle []string) error {
	var port int
	select {
	case port = <-p.out.Port():
	case <-p.done:
		return fmt.Errorf("exited before listening: %v", p.err)
	case <-ctx.Done():
		return ctx.Err()
	}
	pid, err := strace.TraceePID(ctx, p.cmd)
	if err != nil {
		return err
	}
	if err := r.waitIdle(ctx, pid, idle); err != nil {
		return err
	}
	limit := min(r.timeout, 5*time.Second)
	// A server with workers is asked once per worker, one request after
	// the other, each once all of them wait: the kernel wakes the worker
	// that has waited longest, so each serves one request, whichever of
	// them the scheduler let block first.
	for range max(1, r.spec.workers) {
		if r.spec.tcp {
			err = askTCP(port, r.word, limit)
		} else {
			_, err = udp.Request([4]byte{127, 0, 0, 1}, port, r.word, udp.ClientConfig{Timeout: limit})
		}
		if err != nil {
			return fmt.Errorf("asking it: %w", err)
		}
		time.Sleep(50 * time.Millisecond) // let it see the client's close, end a worker
		if err := r.waitIdle(ctx, pid, idle); err != nil {
			return err
		}
	}
	time.Sleep(20 * time.Millisecond)
	return nil
}

// waitIdle waits until the server blocks in one of idle: the program
// itself, or each of its spec.workers worker processes.
func (r *comparison) waitIdle(ctx context.Context, pid int, idle []string) error {
	if r.spec.workers == 0 {
		return proc.BlockedIn(ctx, pid, idle)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		kids := proc.Children(pid)
		waiting := 0
		for _, kid := range kids {
			if proc.InSyscall(kid, idle) {
				waiting++
			}
		}
		if waiting == r.spec.workers {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d workers blocked in %s: %w", waiting, r.spec.workers, strings.Join(idle, " or "), ctx.Err())
		case <-tick.C:
		}
	}
}

// askTCP is compare's TCP client. It makes the server's side of the
// exchange one event: the last ACK of the handshake, the word and the FIN
// arrive in one segment. TCP_DEFER_ACCEPT on a connecting socket holds the
// handshake's last ACK back until there is data to carry it (up to the
// 200 ms delayed-ACK timer); MSG_MORE holds the word back until
// shutdown(SHUT_WR) tacks the FIN on and pushes both. So the server is
// woken by a connection that already holds the word and its end: it
// reads the word, echoes it and finds the end at its next read (recvfrom
// = 0), never EAGAIN first, whatever the scheduler did. With the
// tutorial's client (connect, send, recv, close) an event-loop server's
// first and second reads race the client's data and FIN, and the trace
// with them.
func askTCP(port int, word string, limit time.Duration) error {
	server := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, port)
	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer sys.Close(sock)
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, opt, limit); err != nil {
			return err
		}
	}
	if err := sys.SetsockoptInt(sock, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
		return err
	}
	if err := sys.Connect(sock, &server); err != nil {
		return err
	}
	if n, err := sys.Send(sock, []byte(word), unix.MSG_MORE|unix.MSG_NOSIGNAL); err != nil || n != len(word) {
		return fmt.Errorf("sent %d of %d bytes: %v", n, len(word), err)
	}
	if err := sys.Shutdown(sock, unix.SHUT_WR); err != nil {
		return err
	}
	var echo []byte
	buffer := make([]byte, 512)
	for {
		n, err := sys.Recv(sock, buffer, 0)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		echo = append(echo, buffer[:n]...)
	}
	if string(echo) != word {
		return fmt.Errorf("echoed %q, want %q", echo, word)
	}
	return nil
}

// stop ends the program as a user would, with SIGTERM, kills it if it
// has not exited within 5 s, and reaps it. It returns Wait's result.
func (p *tracedProc) stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.signal.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = strace.Signal(ctx, p.cmd, syscall.SIGTERM) // it may have exited meanwhile
	})
	select {
	case <-p.done:
		return p.err
	case <-time.After(5 * time.Second):
	}
	p.kill()
	<-p.done // bounded by strace.Command's WaitDelay
	return fmt.Errorf("killed after SIGTERM did not stop it: %v", p.err)
}

package udp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Forking lengthy-action server, the Go mirror of testdata/lengthy_fork.c
// (the tutorial's "forking server"):
//
//	socket -> bind -> loop { recvfrom -> report -> fork
//	                         child: sleep -> toupper -> sendto -> _exit }
//	SIGCHLD -> waitpid(WNOHANG) until none has ended
//
// The fork is a real fork(2) without exec (sys.ForkSendUpper): the child
// is a copy of this process that runs a few raw system calls and exits;
// sys/fork_linux.go lists the rules a Go child has to keep. strace shows
// one clone(SIGCHLD) per request and no execve.
//
// Differences from the C twin, from Go itself:
//   - the child's program is sys.ForkSendUpper, not arbitrary code: after
//     fork a Go child may not allocate, lock, grow its stack or start a
//     goroutine. It reports nothing; a failed sendto is its exit status,
//     which the parent reports when it reaps it.
//   - SIGCHLD reaches a Go program through os/signal, on a goroutine: that
//     goroutine reaps, where C reaps in the signal handler. It waits for
//     each of its own children (wait4(pid, WNOHANG)) rather than for any
//     (waitpid(-1)): a Go process may have children that os/exec started
//     and will wait for itself.
//   - the main loop blocks in recvfrom undisturbed: Go installs its
//     handlers with SA_RESTART, and C does the same for SIGCHLD.
//   - when the bound is reached the main loop reaps first, then drops.
//
// On StopLengthy the loop ends and ServeFork waits for the children in
// progress (they reply), as C does, so no zombie is left.

// ServeFork serves each request on fd in a forked child until StopLengthy
// is called on fd; it returns nil once every child has been reaped. It
// does not close fd. The parent allocates nothing per request.
func ServeFork(fd int, cfg LengthyConfig) error {
	w := &lockedWriter{w: cfg.log()}
	r := newReceiver(fd, cfg, w)
	bound := cfg.maxChildren()
	kids := &children{pids: make([]int, 0, bound), w: w}

	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, unix.SIGCHLD)
	defer signal.Stop(sigchld)
	done := make(chan struct{})
	reaper := make(chan struct{})
	go func() { // the SIGCHLD handler
		defer close(reaper)
		for {
			select {
			case <-sigchld:
				kids.reap(unix.WNOHANG)
			case <-done:
				return
			}
		}
	}()
	defer func() {
		close(done)
		<-reaper
		kids.reap(0) // the children in progress finish; none is left a zombie
	}()

	drops := 0
	for {
		request, err := r.recv()
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			return err
		}
		if request == nil {
			continue
		}
		if err := kids.fork(fd, request, &r.client, cfg); err != nil {
			if errors.Is(err, errFull) {
				r.dropped(&drops, bound, bound)
			} else {
				fmt.Fprintf(w, "Failed to fork for %s: %v\n", r.client.String(), err)
			}
		}
	}
}

var errFull = errors.New("too many children")

// children is the set of live children, bounded by cap(pids).
type children struct {
	mu   sync.Mutex
	pids []int
	w    io.Writer
}

// fork starts a child for request unless the bound is reached. The lock
// is held across the fork, so the reaper, woken by the child's SIGCHLD,
// finds its pid in the set.
func (k *children) fork(fd int, request []byte, client *sys.SockaddrIn, cfg LengthyConfig) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.pids) == cap(k.pids) {
		k.reapLocked(unix.WNOHANG)
		if len(k.pids) == cap(k.pids) {
			return errFull
		}
	}
	pid, err := sys.ForkSendUpper(fd, request, unix.MSG_DONTWAIT, client, cfg.Delay)
	if err != nil {
		return err
	}
	k.pids = append(k.pids, pid)
	return nil
}

// reap waits for each child: with WNOHANG, only those that have ended.
func (k *children) reap(options int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reapLocked(options)
}

func (k *children) reapLocked(options int) {
	live := k.pids[:0]
	for _, pid := range k.pids {
		var status sys.WaitStatus
		got, err := sys.Wait4(pid, &status, options, nil)
		switch {
		case err != nil: // ECHILD: not ours any more; nothing to wait for
			fmt.Fprintf(k.w, "Failed to wait for child %d: %v\n", pid, err)
		case got == 0:
			live = append(live, pid) // still running
		case status.Exited() && status.ExitStatus() == 0:
		case status.Exited() && status.ExitStatus() == 255:
			fmt.Fprintf(k.w, "Child %d sent its reply short\n", pid)
		case status.Exited():
			fmt.Fprintf(k.w, "Child %d failed to send its reply: %v\n", pid, sys.ExitErrno(status))
		default:
			fmt.Fprintf(k.w, "Child %d killed by %v\n", pid, status.Signal())
		}
	}
	k.pids = live
}

package udp

import (
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
//   - a mutex around the set of children stands where C blocks SIGCHLD
//     around its count; when the bound is reached the main loop reaps
//     first, then drops, as C does.
//
// On Stop the loop ends and ServeFork waits for the children in
// progress (they reply), as C does, so no zombie is left.

// ServeFork serves each request on fd in a forked child until Stop
// is called on fd; it returns nil once every child has been reaped. It
// does not close fd. The parent allocates nothing per request.
func ServeFork(fd int, cfg LengthyConfig) error {
	w := &lockedWriter{w: cfg.log()}
	log := newReport(w, cfg)
	defer log.guard.flush()
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
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

	for !cfg.stopping() {
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC, &client, &clientlen)
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if received == 0 && clientlen == 0 {
			return nil // Stop: no datagram, no sender
		}
		if received > len(buffer) {
			log.truncated(&client, received, len(buffer))
			continue
		}
		if log.guard.refuses(client.Addr, client.PortOf()) {
			continue // the loop guard (guard.go)
		}
		log.connected(&client)
		kids.mu.Lock() // C blocks SIGCHLD: the set is ours until the fork is counted
		if len(kids.pids) >= bound {
			kids.reapLocked(unix.WNOHANG)
		}
		if len(kids.pids) >= bound {
			kids.mu.Unlock()
			log.dropped(&client, bound, bound)
			continue
		}
		// child: sleep -> toupper -> sendto -> _exit
		pid, err := sys.ForkSendUpper(fd, buffer[:received], unix.MSG_DONTWAIT, &client, cfg.Delay)
		if err != nil {
			fmt.Fprintf(w, "Failed to fork for %s: %v\n", client.String(), err)
		} else {
			kids.pids = append(kids.pids, pid)
		}
		kids.mu.Unlock()
	}
	return nil // Done
}

// children is the set of live children, bounded by cap(pids). Its lock
// is held across a fork, so that the reaper, woken by the child's
// SIGCHLD, finds the child's pid in the set.
type children struct {
	mu   sync.Mutex
	pids []int
	w    io.Writer
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

package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Fork-per-connection TCP echo server, the Go mirror of testdata/fork.c
// and of Stevens' tcpserv01.c (the tutorial's "forking" model):
//
//	socket -> bind -> listen(somaxconn) -> loop { accept -> report -> fork
//	                                       child: close(listen) -> str_echo -> close -> _exit
//	                                       parent: close(connection) }
//	SIGCHLD -> waitpid(WNOHANG) until none has ended
//
// The fork is a real fork(2) without exec (sys.ForkEcho): the child is a
// copy of this process that closes the listening socket, echoes with raw
// recvfrom and sendto calls on its copy of the connection, closes it and
// exits; sys/fork_linux.go and sys/fork_echo_linux.go list the rules a Go
// child has to keep. strace shows one clone(SIGCHLD) per connection and no
// execve.
//
// Shared with the C twin: at most Config.MaxChildren children at once
// (DefaultMaxChildren when 0); a client beyond that is reported, counted
// and closed at once ("Refused client"). On stop the listening socket is
// shut down, the children of connections still open are sent SIGTERM
// (their handlers are the defaults), and every child is reaped.
//
// Differences from the C twin, from Go itself:
//   - the child's program is sys.ForkEcho, not arbitrary code: after fork
//     a Go child may not allocate, lock, grow its stack or start a
//     goroutine. It reports nothing; the errno of a failed recv or send
//     is its exit status, which the parent reports when it reaps it
//     (EAGAIN as "Closed idle client"), where C's child exits 0 silently.
//   - SIGCHLD reaches a Go program through os/signal, on a goroutine: that
//     goroutine reaps, where C reaps in the signal handler, and it waits
//     for each of its own children (wait4(pid, WNOHANG)) rather than for
//     any (waitpid(-1)), since a Go process may have children that
//     os/exec started and will wait for itself.
//   - A done context shuts the listening socket down, as the C twin's
//     signal handler does; strace shows that shutdown before the final
//     close.
//   - Config.Idle (off by default) sets SO_RCVTIMEO and SO_SNDTIMEO on the
//     connection before the fork: two setsockopt calls after accept.
//   - At RLIMIT_NOFILE the reserve descriptor of echo.go sheds a client.

// DefaultMaxChildren bounds the children of ServeFork when
// Config.MaxChildren is 0, and is the C twin's default.
const DefaultMaxChildren = 512

// ServeFork serves each connection in a forked child until ctx is done;
// then it sends SIGTERM to the children still serving, reaps every child
// and returns nil. It does not close listenfd.
func ServeFork(ctx context.Context, listenfd int, cfg Config) error {
	st, release := stopOn(ctx, listenfd)
	defer release()
	w := &lockedWriter{w: cfg.log()} // the reaper reports too
	cfg.Log = w
	log := newLogger(cfg)
	bound := cfg.MaxChildren
	if bound <= 0 {
		bound = DefaultMaxChildren
	}
	kids := &children{live: make([]child, 0, bound), w: w}
	buffer := make([]byte, BufSize) // each child's copy of it is its own
	spare := newReserve(blockingAccept)
	defer spare.close()

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
		kids.stop() // SIGTERM to the children still serving; all reaped
	}()

	refused := 0
	var echoclient sys.SockaddrIn
	for {
		clientsock, err := spare.accept(listenfd, &echoclient)
		if st.stopped() {
			if err == nil {
				sys.Close(clientsock)
			}
			return nil
		}
		if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Failed to accept client connection: %w", err)
		}
		log.connected(&echoclient)
		if err := setIdle(clientsock, cfg.Idle); err != nil {
			fmt.Fprintf(w, "Client %s: %v\n", echoclient.String(), err)
		} else if err := kids.fork(clientsock, listenfd, buffer, &echoclient); errors.Is(err, errFull) {
			refused++
			fmt.Fprintf(w, "Refused client %s: %d children (--max-children %d); %d refused so far\n",
				echoclient.String(), bound, bound, refused)
		} else if err != nil {
			fmt.Fprintf(w, "Failed to fork for %s: %v\n", echoclient.String(), err)
		}
		sys.Close(clientsock) // parent closes the connected socket
	}
}

var errFull = errors.New("too many children")

// child is a live child and the client it serves.
type child struct {
	pid    int
	client sys.SockaddrIn
}

// children is the set of live children, bounded by cap(live).
type children struct {
	mu   sync.Mutex
	live []child
	w    io.Writer
}

// fork starts a child for the connection unless the bound is reached.
// The lock is held across the fork, so the reaper, woken by the child's
// SIGCHLD, finds its pid in the set.
func (k *children) fork(connfd, listenfd int, buffer []byte, client *sys.SockaddrIn) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.live) == cap(k.live) {
		k.reapLocked(unix.WNOHANG, false)
		if len(k.live) == cap(k.live) {
			return errFull
		}
	}
	pid, err := sys.ForkEcho(connfd, listenfd, buffer, unix.MSG_NOSIGNAL)
	if err != nil {
		return err
	}
	k.live = append(k.live, child{pid: pid, client: *client})
	return nil
}

// reap waits for each child: with WNOHANG, only those that have ended.
func (k *children) reap(options int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reapLocked(options, false)
}

// stop sends SIGTERM to every live child and reaps them all.
func (k *children) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.live {
		sys.Kill(c.pid, unix.SIGTERM) // a child that has just exited is a zombie: no error
	}
	k.reapLocked(0, true)
}

func (k *children) reapLocked(options int, stopping bool) {
	live := k.live[:0]
	for _, c := range k.live {
		var status sys.WaitStatus
		got, err := sys.Wait4(c.pid, &status, options, nil)
		switch {
		case err != nil: // ECHILD: not ours any more; nothing to wait for
			fmt.Fprintf(k.w, "Failed to wait for child %d: %v\n", c.pid, err)
		case got == 0:
			live = append(live, c) // still serving
		case status.Exited() && status.ExitStatus() == 0:
		case status.Exited() && sys.ExitErrno(status) == unix.EAGAIN:
			fmt.Fprintf(k.w, "Closed idle client %s\n", c.client.String())
		case status.Exited():
			fmt.Fprintf(k.w, "Client %s: %v\n", c.client.String(), sys.ExitErrno(status))
		case stopping && status.Signal() == unix.SIGTERM:
		default:
			fmt.Fprintf(k.w, "Child %d serving %s killed by %v\n", c.pid, c.client.String(), status.Signal())
		}
	}
	k.live = live
}

// lockedWriter serializes the writes of the accept loop and the reaper.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package tcp

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// reserve is a descriptor held back for the moment accept fails with
// EMFILE or ENFILE. Linux takes the new descriptor before it looks at the
// queue, so accept fails so whether or not a client waits. The server
// then polls the listening socket, timeout 0: a client queued at that
// moment is shed (the reserve closed, the client accepted and closed at
// once, so that it sees its connection closed instead of hanging in the
// backlog, and the reserve taken again); with none queued nothing is
// accepted. An accept that blocks to shed would take the next client to
// come, when descriptors may be free again, and close a client it could
// serve. Without the reserve a level-triggered loop spins on a listening
// socket it can never drain.
type reserve struct {
	fd    int
	block bool // a blocking model: with none queued, wait in poll for one
}

// Whether a model's loop blocks in accept or in an event loop.
const (
	blockingAccept = true  // iterative, fork, thread
	eventLoop      = false // select, poll, epoll
)

func newReserve(block bool) reserve {
	r := reserve{fd: -1, block: block}
	r.take()
	return r
}

func (r *reserve) take() {
	if fd, err := sys.Eventfd(0, unix.EFD_CLOEXEC); err == nil {
		r.fd = fd
	}
}

func (r *reserve) close() {
	if r.fd >= 0 {
		sys.Close(r.fd)
		r.fd = -1
	}
}

// errShed is returned by accept when it failed for lack of descriptors:
// a queued connection was accepted and closed, or a blocking model waited
// for one; its loop accepts again.
var errShed = errors.New("out of descriptors")

// errNoneQueued is returned to an event loop by accept when it failed for
// lack of descriptors and no connection was queued: it is EAGAIN, so that
// the loop ends its accept batch and waits again.
var errNoneQueued = fmt.Errorf("out of descriptors, no connection queued: %w", unix.EAGAIN)

// accept is accept(2) with the reserve: on EMFILE or ENFILE it sheds the
// connection queued, if one is, and returns errShed. With none queued a
// blocking model waits in poll until one is, or the socket is shut down,
// rather than accept again at once, and returns errShed; an event loop
// gets errNoneQueued and returns to its wait.
// With no reserve left it backs off 10 ms so that a loop does not spin.
func (r *reserve) accept(listenfd int, addr *sys.SockaddrIn) (int, error) {
	n := sys.SizeofSockaddrIn
	fd, err := sys.Accept(listenfd, addr, &n)
	if err == nil || !(errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE)) {
		return fd, err
	}
	if !queued(listenfd, 0) {
		if !r.block {
			return -1, errNoneQueued
		}
		queued(listenfd, -1) // then accept again: descriptors may be free
		return -1, errShed
	}
	if r.fd < 0 {
		r.take()
		time.Sleep(10 * time.Millisecond)
		return -1, errShed
	}
	r.close()
	n = sys.SizeofSockaddrIn
	if fd, err := sys.Accept(listenfd, addr, &n); err == nil { // queued: it does not block
		sys.Close(fd)
	}
	r.take()
	return -1, errShed
}

// queued polls the listening socket for a connection to accept, waiting
// at most timeout (negative: until one comes or the socket is shut down).
func queued(listenfd int, timeout time.Duration) bool {
	fds := [1]sys.PollFd{{Fd: int32(listenfd), Events: unix.POLLIN}}
	n, err := sys.Poll(fds[:], timeout)
	return err == nil && n == 1 && fds[0].Revents&unix.POLLIN != 0
}

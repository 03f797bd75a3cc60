package poll

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Epoll is an epoll(7) instance with the event array its Wait fills, the
// two things every C epoll loop declares side by side:
//
//	C:  epfd = epoll_create1(0); struct epoll_event events[MAXEVENTS];
//	Go: ep, err := poll.NewEpoll(0, MAXEVENTS)
//
// Each watched descriptor's event data is the descriptor itself (ev.Fd),
// so a loop dispatches on ev.Fd as C dispatches on events[i].data.fd.
// Level-triggered by default (ready while data is waiting); pass EPOLLET
// in events for edge-triggered (ready once per arrival; the loop must then
// read until EAGAIN). Nothing is allocated after NewEpoll.
type Epoll struct {
	fd     int
	events []sys.EpollEvent
}

// NewEpoll creates the instance with epoll_create1(flags) (0 or
// EPOLL_CLOEXEC) and room for maxEvents ready descriptors per Wait.
func NewEpoll(flags, maxEvents int) (*Epoll, error) {
	fd, err := sys.EpollCreate1(flags)
	if err != nil {
		return nil, err
	}
	return &Epoll{fd: fd, events: make([]sys.EpollEvent, max(maxEvents, 1))}, nil
}

// Fd returns the epoll descriptor.
func (e *Epoll) Fd() int { return e.fd }

// Add watches fd for events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLET...):
// epoll_ctl(EPOLL_CTL_ADD).
func (e *Epoll) Add(fd int, events uint32) error {
	ev := sys.EpollEvent{Events: events, Fd: int32(fd)}
	return sys.EpollCtl(e.fd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// Mod changes the events watched on fd: epoll_ctl(EPOLL_CTL_MOD).
func (e *Epoll) Mod(fd int, events uint32) error {
	ev := sys.EpollEvent{Events: events, Fd: int32(fd)}
	return sys.EpollCtl(e.fd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// Del stops watching fd: epoll_ctl(EPOLL_CTL_DEL). Closing fd does the
// same, unless another descriptor (a dup, a forked child's copy) still
// refers to the open file: epoll watches files, not descriptor numbers.
func (e *Epoll) Del(fd int) error {
	return sys.EpollCtl(e.fd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wait calls epoll_wait(2) and returns the ready events, a slice of the
// instance's own array that the next Wait overwrites; empty on timeout. A
// negative timeout waits forever.
func (e *Epoll) Wait(timeout time.Duration) ([]sys.EpollEvent, error) {
	n, err := sys.EpollWait(e.fd, e.events, timeout)
	if err != nil {
		return nil, err
	}
	return e.events[:n], nil
}

// Close closes the epoll descriptor.
func (e *Epoll) Close() error { return sys.Close(e.fd) }

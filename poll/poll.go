package poll

import (
	"time"

	"github.com/socklab/socklab/sys"
)

// Poll is the client array of Stevens' tcpservpoll01.c: a []pollfd in
// which a free slot holds fd -1 (the kernel skips negative descriptors).
// Freed slots are reused before the array grows, so a steady population
// of connections allocates nothing. The zero value watches nothing.
type Poll struct {
	Fds  []sys.PollFd // the array passed to poll(2); index it with the slot Add returned
	free []int        // free slots, most recently freed last
}

// Add watches fd for events (POLLIN, POLLOUT) and returns its slot.
func (p *Poll) Add(fd int, events int16) int {
	if n := len(p.free); n > 0 {
		slot := p.free[n-1]
		p.free = p.free[:n-1]
		p.Fds[slot] = sys.PollFd{Fd: int32(fd), Events: events}
		return slot
	}
	p.Fds = append(p.Fds, sys.PollFd{Fd: int32(fd), Events: events})
	return len(p.Fds) - 1
}

// Remove frees slot: its fd becomes -1 and the slot is reused by a later
// Add. Trailing free slots are dropped, so that poll scans no dead tail.
func (p *Poll) Remove(slot int) {
	p.Fds[slot] = sys.PollFd{Fd: -1}
	p.free = append(p.free, slot)
	if slot != len(p.Fds)-1 {
		return
	}
	for len(p.Fds) > 0 && p.Fds[len(p.Fds)-1].Fd < 0 {
		p.Fds = p.Fds[:len(p.Fds)-1]
	}
	live := p.free[:0] // forget free slots beyond the new end
	for _, s := range p.free {
		if s < len(p.Fds) {
			live = append(live, s)
		}
	}
	p.free = live
}

// Wait calls poll(2) on the array; a negative timeout waits forever. It
// returns the number of slots with events, 0 on timeout; each slot's
// Revents tells which.
func (p *Poll) Wait(timeout time.Duration) (int, error) {
	return sys.Poll(p.Fds, timeout)
}

package poll

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Select is the state of a select(2) loop, as in Stevens' tcpservselect01.c:
// the interest sets (allset), the result sets the kernel overwrites (rset)
// and the highest descriptor (maxfd). The zero value watches nothing.
type Select struct {
	rall, wall sys.FdSet // interest: what Add asked for
	r, w       sys.FdSet // result of the last Wait
	nfds       int       // highest descriptor in rall or wall, plus one
}

// Add watches fd for events, POLLIN, POLLOUT or both; a descriptor already
// watched gets the new events. A descriptor select cannot watch (fd >=
// FD_SETSIZE) is refused with an error wrapping sys.ErrFDSetSize, and
// nothing changes.
func (s *Select) Add(fd int, events int16) error {
	if fd < 0 || fd >= sys.FD_SETSIZE {
		var probe sys.FdSet
		return probe.Set(fd) // the error, with the descriptor named
	}
	s.rall.Clear(fd)
	s.wall.Clear(fd)
	if events&unix.POLLIN != 0 {
		s.rall.Set(fd)
	}
	if events&unix.POLLOUT != 0 {
		s.wall.Set(fd)
	}
	s.nfds = max(s.nfds, fd+1)
	return nil
}

// Remove stops watching fd (FD_CLR in both sets) and lowers maxfd if fd
// was the highest.
func (s *Select) Remove(fd int) {
	s.rall.Clear(fd)
	s.wall.Clear(fd)
	s.r.Clear(fd)
	s.w.Clear(fd)
	for s.nfds > 0 && !s.rall.IsSet(s.nfds-1) && !s.wall.IsSet(s.nfds-1) {
		s.nfds--
	}
}

// Wait copies the interest sets (rset = allset) and calls select(2) on
// them; a negative timeout waits forever. It returns the number of ready
// descriptors, 0 on timeout; Readable and Writable tell which.
func (s *Select) Wait(timeout time.Duration) (int, error) {
	s.r, s.w = s.rall, s.wall
	return sys.Select(s.nfds, &s.r, &s.w, nil, timeout)
}

// Readable reports whether the last Wait found fd readable.
func (s *Select) Readable(fd int) bool { return s.r.IsSet(fd) }

// Writable reports whether the last Wait found fd writable.
func (s *Select) Writable(fd int) bool { return s.w.IsSet(fd) }

// Nfds returns the first argument Wait passes to select: maxfd + 1.
func (s *Select) Nfds() int { return s.nfds }

package sys

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FD_SETSIZE is the number of descriptors an fd_set holds: select(2)
// cannot watch descriptor 1024 or above.
const FD_SETSIZE = 1024

// ErrFDSetSize is returned by FdSet.Set for a descriptor select(2) cannot
// watch. x/sys/unix's FdSet.Set writes past the set (or panics) instead;
// glibc's FD_SET corrupts the stack.
var ErrFDSetSize = errors.New("descriptor does not fit in an fd_set (FD_SETSIZE 1024)")

// FdSet is fd_set: a bit per descriptor, 0 to FD_SETSIZE-1. The zero value
// is an empty set (FD_ZERO).
type FdSet struct {
	Bits [FD_SETSIZE / 64]uint64
}

// Set is FD_SET. A descriptor outside 0..FD_SETSIZE-1 is refused with
// ErrFDSetSize and the set is left unchanged.
func (s *FdSet) Set(fd int) error {
	if fd < 0 || fd >= FD_SETSIZE {
		return fmt.Errorf("fd %d: %w", fd, ErrFDSetSize)
	}
	s.Bits[fd/64] |= 1 << (uint(fd) % 64)
	return nil
}

// Clear is FD_CLR; descriptors outside the set are ignored.
func (s *FdSet) Clear(fd int) {
	if fd >= 0 && fd < FD_SETSIZE {
		s.Bits[fd/64] &^= 1 << (uint(fd) % 64)
	}
}

// IsSet is FD_ISSET; descriptors outside the set are never set.
func (s *FdSet) IsSet(fd int) bool {
	return fd >= 0 && fd < FD_SETSIZE && s.Bits[fd/64]&(1<<(uint(fd)%64)) != 0
}

// Zero is FD_ZERO.
func (s *FdSet) Zero() { s.Bits = [FD_SETSIZE / 64]uint64{} }

// Select wraps select(2). r, w and e may be nil; nfds is the highest
// descriptor in any set plus one, at most FD_SETSIZE. A negative timeout
// waits forever (a NULL timeval in C), zero polls.
//
// The kernel is entered as pselect6 with a NULL signal mask, the way glibc
// implements select on arm64, and on amd64 since 2.36; strace shows
// pselect6. EINTR (Go's runtime preempts threads with SIGURG) is retried
// with the timeout recomputed from a deadline, so a wait is never longer
// than asked. The kernel leaves the sets untouched when it fails, so the
// retry watches the same ones.
func Select(nfds int, r, w, e *FdSet, timeout time.Duration) (int, error) {
	if nfds < 0 || nfds > FD_SETSIZE {
		return -1, named("select", unix.EINVAL)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var ts unix.Timespec
	for {
		var tsp *unix.Timespec
		if timeout >= 0 {
			ts = unix.NsecToTimespec(int64(timeout))
			tsp = &ts
		}
		n, _, errno := unix.Syscall6(unix.SYS_PSELECT6, uintptr(nfds), uintptr(unsafe.Pointer(r)),
			uintptr(unsafe.Pointer(w)), uintptr(unsafe.Pointer(e)), uintptr(unsafe.Pointer(tsp)), 0)
		if errno == unix.EINTR {
			if timeout > 0 {
				timeout = max(time.Until(deadline), 0)
			}
			continue
		}
		if errno != 0 {
			return -1, wrap("select", errno)
		}
		return int(n), nil
	}
}

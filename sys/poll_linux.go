package sys

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PollFd is struct pollfd (poll(2)): a descriptor, the events wanted
// (POLLIN, POLLOUT) and the events the kernel returned. A negative Fd is
// ignored by the kernel, as Stevens' servers use for free slots.
type PollFd = unix.PollFd

// Poll wraps poll(2). A negative timeout waits forever, zero polls.
//
// The kernel is entered as ppoll with a NULL signal mask, as glibc's poll
// does on arm64, which has no poll system call; strace shows ppoll. EINTR
// is retried with the timeout recomputed from a deadline.
func Poll(fds []PollFd, timeout time.Duration) (int, error) {
	var p unsafe.Pointer
	if len(fds) > 0 {
		p = unsafe.Pointer(&fds[0])
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
		n, _, e := unix.Syscall6(unix.SYS_PPOLL, uintptr(p), uintptr(len(fds)), uintptr(unsafe.Pointer(tsp)), 0, 0, 0)
		if e == unix.EINTR {
			if timeout > 0 {
				timeout = max(time.Until(deadline), 0)
			}
			continue
		}
		if e != 0 {
			return -1, wrap("poll", e)
		}
		return int(n), nil
	}
}

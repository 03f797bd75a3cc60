package sys

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollEvent is struct epoll_event (epoll_ctl(2)): the events wanted or
// returned (EPOLLIN, EPOLLOUT, EPOLLET...) and the data, here the fd. It is
// packed on amd64 (12 bytes) and padded on arm64 (16), as the kernel has it.
type EpollEvent = unix.EpollEvent

// EpollCreate1 wraps epoll_create1(2); flags is 0 or EPOLL_CLOEXEC. strace
// shows epoll_create1, which the parity tests count as epoll_create.
func EpollCreate1(flags int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_EPOLL_CREATE1, uintptr(flags), 0, 0)
	if e != 0 {
		return -1, wrap("epoll_create1", e)
	}
	return int(r), nil
}

// EpollCtl wraps epoll_ctl(2): op is EPOLL_CTL_ADD, EPOLL_CTL_MOD or
// EPOLL_CTL_DEL (for which event may be nil).
func EpollCtl(epfd, op, fd int, event *EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(event)), 0, 0)
	return wrap("epoll_ctl", e)
}

// EpollWait wraps epoll_wait(2): it fills events with up to len(events)
// ready descriptors and returns how many, 0 on timeout. A negative timeout
// waits forever; a positive one is rounded up to whole milliseconds, so that
// a tiny timeout never becomes 0 (return at once).
//
// The kernel is entered as epoll_pwait with a NULL signal mask, which is
// epoll_wait: arm64 has no epoll_wait system call, and Go's runtime enters
// the same way; strace shows epoll_pwait. EINTR is retried with the timeout
// recomputed from a deadline. Nothing is allocated.
func EpollWait(epfd int, events []EpollEvent, timeout time.Duration) (int, error) {
	var p unsafe.Pointer
	if len(events) > 0 {
		p = unsafe.Pointer(&events[0])
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		msec := -1
		if timeout >= 0 {
			msec = int((timeout + time.Millisecond - 1) / time.Millisecond)
		}
		n, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(p), uintptr(len(events)),
			uintptr(msec), 0, 0)
		if e == unix.EINTR {
			if timeout > 0 {
				timeout = max(time.Until(deadline), 0)
			}
			continue
		}
		if e != 0 {
			return -1, wrap("epoll_wait", e)
		}
		return int(n), nil
	}
}

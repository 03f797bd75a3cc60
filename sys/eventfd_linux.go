package sys

import (
	"golang.org/x/sys/unix"
)

// Eventfd wraps eventfd(2): a descriptor holding a 64-bit counter, readable
// while the counter is not zero. flags may hold EFD_NONBLOCK, EFD_CLOEXEC
// and EFD_SEMAPHORE. The kernel is entered as eventfd2, as glibc does.
// socklab's event loops watch one to be stopped from another goroutine.
func Eventfd(initval uint, flags int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_EVENTFD2, uintptr(initval), uintptr(flags), 0)
	if e != 0 {
		return -1, wrap("eventfd", e)
	}
	return int(r), nil
}

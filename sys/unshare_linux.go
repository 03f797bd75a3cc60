package sys

import (
	"golang.org/x/sys/unix"
)

// Unshare wraps unshare(2). With CLONE_NEWNET it moves the calling thread,
// and only that thread, into a new network namespace; in Go the caller
// must hold runtime.LockOSThread and should let that thread die with its
// goroutine. Needs CAP_SYS_ADMIN (EPERM otherwise).
func Unshare(flags int) error {
	_, _, e := unix.RawSyscall(unix.SYS_UNSHARE, uintptr(flags), 0, 0)
	return wrap("unshare", e)
}

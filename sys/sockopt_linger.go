package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linger is struct linger (socket(7)).
type Linger = unix.Linger

// SetsockoptLinger wraps setsockopt(2) for SO_LINGER. With Onoff 1 and
// Linger 0, close(2) discards unsent data and sends a RST instead of a FIN:
// the tests' way of resetting a connection mid-echo.
func SetsockoptLinger(fd, level, opt int, l *Linger) error {
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(l)), unsafe.Sizeof(*l), 0)
	return wrap("setsockopt", e)
}

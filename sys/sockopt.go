package sys

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SetsockoptInt wraps setsockopt(2) for an int option (SO_REUSEADDR,
// SO_RCVBUF, PACKET_AUXDATA...).
func SetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), unsafe.Sizeof(v), 0)
	return wrap("setsockopt", e)
}

// GetsockoptInt wraps getsockopt(2) for an int option.
func GetsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	n := uint32(unsafe.Sizeof(v))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, wrap("getsockopt", e)
	}
	return int(v), nil
}

// SetsockoptTimeval wraps setsockopt(2) for a struct timeval option
// (SO_RCVTIMEO, SO_SNDTIMEO). A zero duration means "block forever", as a
// zeroed timeval does in C. d is rounded up to whole microseconds, so that
// a tiny positive timeout never becomes zero (forever).
func SetsockoptTimeval(fd, level, opt int, d time.Duration) error {
	us := (d + time.Microsecond - 1) / time.Microsecond
	tv := unix.NsecToTimeval(int64(us * time.Microsecond))
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&tv)), unsafe.Sizeof(tv), 0)
	return wrap("setsockopt", e)
}

// GetsockoptTimeval wraps getsockopt(2) for a struct timeval option.
func GetsockoptTimeval(fd, level, opt int) (time.Duration, error) {
	var tv unix.Timeval
	n := uint32(unsafe.Sizeof(tv))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&tv)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, wrap("getsockopt", e)
	}
	return time.Duration(tv.Nano()), nil
}

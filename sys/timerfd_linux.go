package sys

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ItimerSpec is struct itimerspec (timerfd_create(2)): the first expiry
// (Value) and the period after it (Interval; zero for a one-shot timer).
type ItimerSpec = unix.ItimerSpec

// TimerfdCreate wraps timerfd_create(2): a descriptor that becomes
// readable when its timer expires. clockid is CLOCK_MONOTONIC (immune to
// clock changes) or CLOCK_REALTIME; flags may hold TFD_NONBLOCK and
// TFD_CLOEXEC.
func TimerfdCreate(clockid, flags int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_TIMERFD_CREATE, uintptr(clockid), uintptr(flags), 0)
	if e != 0 {
		return -1, wrap("timerfd_create", e)
	}
	return int(r), nil
}

// TimerfdSettime wraps timerfd_settime(2): arm (or, with a zero Value,
// disarm) the timer; flags is 0 for a relative Value or TFD_TIMER_ABSTIME.
// old may be nil.
func TimerfdSettime(fd, flags int, new, old *ItimerSpec) error {
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(fd), uintptr(flags),
		uintptr(unsafe.Pointer(new)), uintptr(unsafe.Pointer(old)), 0, 0)
	return wrap("timerfd_settime", e)
}

// TimerfdGettime wraps timerfd_gettime(2): the time left before the next
// expiry, and the period.
func TimerfdGettime(fd int, cur *ItimerSpec) error {
	_, _, e := unix.RawSyscall(unix.SYS_TIMERFD_GETTIME, uintptr(fd), uintptr(unsafe.Pointer(cur)), 0)
	return wrap("timerfd_gettime", e)
}

// NewItimerSpec returns a one-shot itimerspec that expires after d. A zero
// Value disarms a timer, so d is made at least one nanosecond: a timer
// armed for 0 expires at once instead of never.
func NewItimerSpec(d time.Duration) ItimerSpec {
	return ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, time.Nanosecond)))}
}

package poll

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Timers for event loops: a timerfd(2) is a descriptor that becomes
// readable when its timer expires, so an epoll loop waits for sockets and
// deadlines with one epoll_wait, and a thread that must not sleep (the
// asynchronous lengthy-action server) still waits out a delay per request:
//
//	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
//	timerfd_settime(tfd, 0, &(struct itimerspec){.it_value = delay}, NULL);
//	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);    ... readable after delay
//	read(tfd, &expirations, 8); close(tfd);

// NewTimer creates a one-shot timer on CLOCK_MONOTONIC that expires d from
// now: timerfd_create(CLOCK_MONOTONIC, flags), then timerfd_settime. flags
// may hold TFD_NONBLOCK and TFD_CLOEXEC. A d of zero or less expires at
// once (a zero itimerspec would disarm the timer instead).
func NewTimer(d time.Duration, flags int) (int, error) {
	fd, err := sys.TimerfdCreate(unix.CLOCK_MONOTONIC, flags)
	if err != nil {
		return -1, err
	}
	spec := sys.NewItimerSpec(d)
	if err := sys.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		sys.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Expirations reads a timer's expiration count, which the read resets:
// read(2) of 8 bytes in host order. A non-blocking timer that has not
// expired yet gives 0 and no error (EAGAIN).
func Expirations(fd int) (uint64, error) {
	var b [8]byte
	_, err := sys.Read(fd, b[:])
	if errors.Is(err, unix.EAGAIN) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return binary.NativeEndian.Uint64(b[:]), nil
}

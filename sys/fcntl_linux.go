package sys

import (
	"golang.org/x/sys/unix"
)

// FcntlInt wraps fcntl(2) for the commands that take and return an int
// (F_GETFL, F_SETFL, F_GETFD, F_SETFD).
func FcntlInt(fd, cmd, arg int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return -1, wrap("fcntl", e)
	}
	return int(r), nil
}

// SetNonblock sets or clears O_NONBLOCK on fd, the two calls every C event
// loop makes: fcntl(fd, F_GETFL) then fcntl(fd, F_SETFL, flags|O_NONBLOCK).
// The second is skipped when the flag is already as asked.
func SetNonblock(fd int, nonblocking bool) error {
	flags, err := FcntlInt(fd, unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	want := flags &^ unix.O_NONBLOCK
	if nonblocking {
		want = flags | unix.O_NONBLOCK
	}
	if want == flags {
		return nil
	}
	_, err = FcntlInt(fd, unix.F_SETFL, want)
	return err
}

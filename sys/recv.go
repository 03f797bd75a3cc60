package sys

import (
	"os"

	"golang.org/x/sys/unix"
)

// EAGAIN from a non-blocking recv or send is the normal end of an event
// loop's pass over a socket, met once per message: it is returned as one
// prebuilt error each, so that the loop allocates nothing.
var (
	errRecvAgain = os.NewSyscallError("recv", unix.EAGAIN)
	errSendAgain = os.NewSyscallError("send", unix.EAGAIN)
)

// Recv wraps recv(2) on a connected socket. Linux on amd64 and arm64 has
// no recv system call: glibc enters as recvfrom(fd, buf, len, flags, NULL,
// NULL), and so does Recv, so strace shows recvfrom for both.
//
// With MSG_DONTWAIT in flags the call cannot block and is made without the
// Go scheduler's system-call bookkeeping (unix.RawSyscall6), as Sendto does;
// a blocking call keeps it and retries EINTR.
func Recv(fd int, p []byte, flags int) (int, error) {
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(buf(p)), uintptr(len(p)), uintptr(flags), 0, 0)
		if e == unix.EAGAIN {
			return -1, errRecvAgain
		}
		if e != 0 {
			return -1, wrap("recv", e)
		}
		return int(r), nil
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(buf(p)), uintptr(len(p)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("recv", e)
		}
		return int(r), nil
	}
}

// Send wraps send(2) on a connected socket, entered as sendto(fd, buf, len,
// flags, NULL, 0) as glibc does. One call, which may send less than len(p).
// Pass MSG_NOSIGNAL so that a peer's reset returns EPIPE instead of
// raising SIGPIPE (which kills a forked child, whose handlers are the
// defaults). MSG_DONTWAIT makes the call without scheduler bookkeeping, as
// in Recv; a blocking call retries EINTR.
func Send(fd int, p []byte, flags int) (int, error) {
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(buf(p)), uintptr(len(p)), uintptr(flags), 0, 0)
		if e == unix.EAGAIN {
			return -1, errSendAgain
		}
		if e != 0 {
			return -1, wrap("send", e)
		}
		return int(r), nil
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(buf(p)), uintptr(len(p)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("send", e)
		}
		return int(r), nil
	}
}

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket wraps socket(2). The type may carry SOCK_NONBLOCK and SOCK_CLOEXEC;
// socklab's mirrors pass neither, as their C twins do.
func Socket(domain, typ, proto int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), uintptr(typ), uintptr(proto))
	if e != 0 {
		return -1, wrap("socket", e)
	}
	return int(r), nil
}

// Bind wraps bind(2).
func Bind(fd int, addr Sockaddr) error {
	p, n := addr.pointer()
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(p), uintptr(n))
	return wrap("bind", e)
}

// Listen wraps listen(2).
func Listen(fd, backlog int) error {
	_, _, e := unix.RawSyscall(unix.SYS_LISTEN, uintptr(fd), uintptr(backlog), 0)
	return wrap("listen", e)
}

// Accept wraps accept(2). The kernel is entered as accept4(fd, addr, len, 0):
// arm64 has no accept system call, and glibc's accept makes the same call
// there, so strace shows accept4. addr may be nil; addrlen is in/out as in C.
// EINTR is retried.
func Accept(fd int, addr Sockaddr, addrlen *uint32) (int, error) {
	var p unsafe.Pointer
	if addr != nil {
		p, _ = addr.pointer()
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(p), uintptr(unsafe.Pointer(addrlen)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("accept", e)
		}
		return int(r), nil
	}
}

// Connect wraps connect(2). A blocking connect interrupted by a signal
// (EINTR: the socket has SO_SNDTIMEO, or the handler lacks SA_RESTART)
// cannot simply be made again, since the handshake goes on in the kernel
// and a second connect answers EALREADY. Connect then waits as Stevens
// does (UNP 16.3): poll for POLLOUT, for at most the socket's SO_SNDTIMEO
// (forever without one), and SO_ERROR says how the handshake ended. strace
// shows that path as connect = -1 EINTR, ppoll, getsockopt.
func Connect(fd int, addr Sockaddr) error {
	p, n := addr.pointer()
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(p), uintptr(n))
	if e != unix.EINTR {
		return wrap("connect", e)
	}
	limit, err := GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = -1 // no SO_SNDTIMEO: connect itself would wait forever
	}
	fds := []PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	ready, err := Poll(fds, limit)
	if err != nil {
		return err
	}
	if ready == 0 {
		return wrap("connect", unix.ETIMEDOUT)
	}
	soerr, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	return wrap("connect", unix.Errno(soerr))
}

// Shutdown wraps shutdown(2). Unlike close(2), shutdown(fd, SHUT_RDWR) wakes
// a thread blocked in recvfrom or accept on the same socket: that is how
// socklab's servers stop. On an unconnected UDP socket the kernel still
// wakes the readers but reports ENOTCONN, which Shutdown returns.
func Shutdown(fd, how int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return wrap("shutdown", e)
}

// Close wraps close(2). EINTR is not retried: on Linux the descriptor is
// released whatever close returns, and a retry could close a descriptor
// another thread has just been given.
func Close(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return wrap("close", e)
}

// Getsockname wraps getsockname(2); addrlen is in/out as in C.
func Getsockname(fd int, addr Sockaddr, addrlen *uint32) error {
	p, _ := addr.pointer()
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(p), uintptr(unsafe.Pointer(addrlen)))
	return wrap("getsockname", e)
}

// Getpeername wraps getpeername(2); addrlen is in/out as in C.
func Getpeername(fd int, addr Sockaddr, addrlen *uint32) error {
	p, _ := addr.pointer()
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(p), uintptr(unsafe.Pointer(addrlen)))
	return wrap("getpeername", e)
}

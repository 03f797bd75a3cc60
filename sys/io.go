package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// buf returns the address of p's first byte, or nil for an empty slice.
func buf(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

// Recvfrom wraps recvfrom(2). from may be nil; fromlen is in/out as in C
// and may be nil with it. Nothing is allocated: the kernel writes the
// sender's address into the caller's struct, unlike unix.Recvfrom, which
// allocates a Sockaddr per call (and, for AF_INET, asks SO_PROTOCOL with an
// extra getsockopt). With MSG_TRUNC in flags a UDP socket returns the
// datagram's real length, which may exceed len(p). EINTR is retried.
//
// A socket shut down for reading returns 0 with *fromlen set to 0; a real
// empty datagram returns 0 with *fromlen set to the address size.
func Recvfrom(fd int, p []byte, flags int, from Sockaddr, fromlen *uint32) (int, error) {
	var sa unsafe.Pointer
	if from != nil {
		sa, _ = from.pointer()
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(buf(p)), uintptr(len(p)),
			uintptr(flags), uintptr(sa), uintptr(unsafe.Pointer(fromlen)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("recvfrom", e)
		}
		return int(r), nil
	}
}

// Sendto wraps sendto(2). to may be nil on a connected socket. EINTR is
// retried.
//
// With MSG_DONTWAIT in flags the call cannot block, so it is made without
// the Go scheduler's system-call bookkeeping (unix.RawSyscall6, as for
// socket or bind): on a 2-core machine that bookkeeping costs a UDP echo
// server about a tenth of its round trips. Blocking calls keep it, so that
// a thread asleep in the kernel never holds up the runtime.
func Sendto(fd int, p []byte, flags int, to Sockaddr) (int, error) {
	var sa unsafe.Pointer
	var n uint32
	if to != nil {
		sa, n = to.pointer()
	}
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(buf(p)), uintptr(len(p)),
			uintptr(flags), uintptr(sa), uintptr(n))
		if e != 0 {
			return -1, wrap("sendto", e)
		}
		return int(r), nil
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(buf(p)), uintptr(len(p)),
			uintptr(flags), uintptr(sa), uintptr(n))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("sendto", e)
		}
		return int(r), nil
	}
}

// Read wraps read(2). EINTR is retried.
func Read(fd int, p []byte) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(buf(p)), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("read", e)
		}
		return int(r), nil
	}
}

// Write wraps write(2): one call, which may write less than len(p). EINTR
// is retried.
func Write(fd int, p []byte) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(buf(p)), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("write", e)
		}
		return int(r), nil
	}
}

package sys

import (
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A classic BPF socket filter, socket(7) SO_ATTACH_FILTER and
// filter.txt in the kernel's networking documentation.

// SetsockoptFilter attaches a classic BPF program to a socket:
// setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog). The
// kernel checks and copies the program, which then runs on every frame
// before it is queued: what it rejects never reaches the socket's buffer.
// A later call replaces the program. bpf.RawInstruction has the layout of
// struct sock_filter; at most BPF_MAXINSNS (4096) instructions.
func SetsockoptFilter(fd int, prog []bpf.RawInstruction) error {
	if len(prog) > 0xffff {
		return named("setsockopt", unix.EINVAL) // sock_fprog.len is 16 bits wide
	}
	var fprog unix.SockFprog
	fprog.Len = uint16(len(prog))
	if len(prog) > 0 {
		fprog.Filter = (*unix.SockFilter)(unsafe.Pointer(&prog[0])) // same layout as struct sock_filter
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		uintptr(unsafe.Pointer(&fprog)), unsafe.Sizeof(fprog), 0)
	return wrap("setsockopt", e)
}

// Package sys is socklab's only door to the kernel: thin, typed wrappers over
// golang.org/x/sys/unix, in the spirit of the wrapper library of Stevens' UNIX
// Network Programming (lib/wrapsock.c).
//
// Every wrapper keeps the C name and the C argument order and takes plain int
// file descriptors, so that a Go mirror reads like its C twin line for line:
//
//	C:  sock = socket(PF_INET, SOCK_DGRAM, IPPROTO_UDP);
//	Go: sock, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
//
// Rules that hold for every function here:
//
//   - Errors are *os.SyscallError named after the C function the caller
//     thinks it is calling ("bind", "recvfrom"). Where the kernel is entered
//     under another name (accept4 for accept), the wrapper's comment says so,
//     because strace shows the kernel's name. A bare Errno never leaves sys.
//   - One EINTR policy: a wrapper that can block retries EINTR itself, the way
//     Go's internal/poll does. Go installs its signal handlers with SA_RESTART,
//     so this is rare, but sockets with SO_RCVTIMEO return EINTR regardless.
//   - Nothing on a hot path allocates: socket addresses are caller-owned
//     structs with the kernel's layout (SockaddrIn is struct sockaddr_in),
//     passed by pointer, exactly as C passes them.
//   - Functions are Linux-only; socklab supports linux/amd64 and linux/arm64.
//
// Man pages: socket(2), bind(2), listen(2), accept(2), connect(2),
// shutdown(2), close(2), recv(2), send(2), recvmsg(2), recvmmsg(2),
// sendmmsg(2), getsockname(2), setsockopt(2), select(2), poll(2), epoll(7),
// eventfd(2), timerfd_create(2), fcntl(2), getrlimit(2), fork(2), wait4(2),
// kill(2), unshare(2), ioctl(2), cmsg(3), socket(7), ip(7), tcp(7), udp(7),
// raw(7), icmp(7), packet(7), netdevice(7), inet(3), byteorder(3).
package sys

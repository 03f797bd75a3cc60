package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The second child body of a real fork(2), for the fork-per-connection TCP
// echo server. It keeps every rule listed in fork_linux.go, with the
// linkname declarations made there:
//
//   - runtime_BeforeFork before the clone, runtime_AfterFork in the parent,
//     runtime_AfterForkInChild first thing in the child;
//   - after the clone the child runs only echoChild, //go:nosplit and
//     //go:norace, which enters the kernel with RawSyscall only;
//   - it allocates nothing: the 32-byte buffer is the caller's, made before
//     the fork (the child has its own copy-on-write copy of it, so the
//     parent may hand the same buffer to the next child); its address is
//     kept as an unsafe.Pointer, which a stack copy before the clone would
//     adjust, and becomes a uintptr only in the system call's argument
//     list; no pointer is stored, so there is no write barrier; no defer,
//     panic, lock, map, slice growth, goroutine or fmt;
//   - its loops are bounded by the connection (EOF or an error ends them)
//     and it ends in exit_group, never returning into Go code.
//
// What the child does beyond what fork_linux.go's child does is a loop of
// recvfrom and sendto on one descriptor and two close calls: the same
// kinds of system calls, with the same (lack of) runtime involvement.

// ForkEcho is fork(2) for the child of the fork-per-connection TCP echo
// server. The child closes closefd (the listening socket, as the C child
// does; -1 closes nothing), then runs Stevens' str_echo on the connected
// socket connfd: recv(2) up to len(buffer) bytes, send(2) them all back
// with flags (MSG_NOSIGNAL: a reset peer is an error, not SIGPIPE), until
// EOF; then it closes connfd and _exits. Its exit status is 0 at EOF, the
// errno of the failed recv or send otherwise (EAGAIN: an SO_RCVTIMEO or
// SO_SNDTIMEO set before the fork expired). recv and send are entered as
// recvfrom and sendto, as glibc does. EINTR is retried.
//
// The parent gets the child's pid, keeps connfd (and should close it: the
// child has its own copy) and reaps the child with Wait4. buffer must not
// be empty. The error is named "fork".
//
//go:norace
//go:noinline
func ForkEcho(connfd, closefd int, buffer []byte, flags int) (int, error) {
	if len(buffer) == 0 {
		return -1, wrap("fork", unix.EINVAL)
	}
	// All the child needs, prepared before the fork.
	p, n := buf(buffer), uintptr(len(buffer))

	runtime_BeforeFork()
	pid, _, e := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || pid != 0 {
		runtime_AfterFork() // parent
		if e != 0 {
			return -1, wrap("fork", e)
		}
		return int(pid), nil
	}
	// child
	runtime_AfterForkInChild()
	echoChild(uintptr(connfd), closefd, p, n, uintptr(flags))
	return 0, nil // not reached: echoChild exits
}

// echoChild is the child's whole life after the fork.
//
//go:norace
//go:nosplit
func echoChild(fd uintptr, closefd int, p unsafe.Pointer, n, flags uintptr) {
	if closefd >= 0 {
		unix.RawSyscall(unix.SYS_CLOSE, uintptr(closefd), 0, 0)
	}
	status := uintptr(0)
recv:
	for {
		received, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(p), n, 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			status = uintptr(e) & 0xff
			break
		}
		if received == 0 {
			break // EOF
		}
		for sent := uintptr(0); sent < received; { // writen
			r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Add(p, sent)), received-sent, flags, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				status = uintptr(e) & 0xff
				break recv
			}
			sent += r
		}
	}
	unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, status, 0, 0)
	}
}

// Kill wraps kill(2): it sends sig to the process pid (a server stopping
// its forked children).
func Kill(pid int, sig unix.Signal) error {
	return named("kill", unix.Kill(pid, sig))
}

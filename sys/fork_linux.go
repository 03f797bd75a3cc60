package sys

import (
	"time"
	"unsafe" // also for go:linkname

	"golang.org/x/sys/unix"
)

// A real fork(2) in Go: the process is copied, the calling thread alone
// goes on in the child, and nothing is exec'd. Go's runtime is not built
// for that (its other threads, the garbage collector, the scheduler and
// the signal handlers are gone or half-copied in the child), so the child
// may do only what syscall.forkAndExecInChild1 does between fork and exec
// (/usr/local/go/src/syscall/exec_linux.go), and this file keeps its rules:
//
//  1. runtime_BeforeFork before the clone: it blocks signals on the thread,
//     stops preemption (m.locks++) and spoils the goroutine's stack guard,
//     so that any attempt to grow the stack in the child crashes loudly
//     ("stack growth after fork") instead of corrupting the copy.
//     runtime_AfterFork undoes all of it in the parent.
//  2. In the child, runtime_AfterForkInChild first: it resets every caught
//     signal to SIG_DFL and restores the signal mask, so that SIGINT or
//     SIGTERM kill the child as they would a C child, and no Go signal
//     handler runs in a process whose runtime cannot serve it.
//  3. After the clone the child calls nothing but //go:nosplit functions
//     that allocate nothing and enter the kernel with RawSyscall (assembly,
//     no scheduler bookkeeping): no malloc, no locks (they may have been
//     held by a thread that does not exist in the child), no stack growth,
//     no goroutines, no write barriers (no pointer is stored), no defer,
//     no panics, no fmt. Everything it needs is computed before the fork.
//  4. The child never returns into Go code: it ends in exit_group, _exit(2)
//     in C, which skips atexit handlers and buffered output, as a C child
//     that has not exec'd should.
//  5. //go:norace on every function that runs in the child (the race
//     detector's instrumentation calls into its runtime, which needs a P),
//     and //go:noinline on the one that forks, so that the child's frame
//     is the parent's frame as it was at the clone.
//
// The kernel is entered as clone(SIGCHLD): a new process with a copy of
// the fd table, reporting its death with SIGCHLD, which is what glibc's
// fork does (glibc adds CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID for its
// thread bookkeeping); strace shows clone, the parity tests call it fork.

// Implemented in the runtime, pushed to package syscall with go:linkname
// and kept there for callers like this one (see go.dev/issue/67401).

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// ForkSendUpper is fork(2) for the child of the tutorial's forking
// lengthy-action server. The child sleeps for delay (nanosleep(2), resumed
// with the time left if interrupted), upper-cases msg in place (its own
// copy: the parent's buffer is untouched and free for the next recvfrom),
// sends it to to on fd with sendto(2) and flags, and _exits: status 0 when
// the whole message went out, otherwise the errno of sendto (or 255 for a
// short send). The parent gets the child's pid and reaps it with Wait4.
//
// The child runs only the code of this file (see the rules above); a
// general Fork returning twice is not offered, because almost nothing a Go
// caller would do next is safe in the child. The error is named "fork".
//
//go:norace
//go:noinline
func ForkSendUpper(fd int, msg []byte, flags int, to *SockaddrIn, delay time.Duration) (int, error) {
	// All the child needs, prepared before the fork.
	ts := unix.NsecToTimespec(int64(max(delay, 0)))
	p, n := buf(msg), uintptr(len(msg))
	sa, salen := to.pointer()

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
	sendUpperChild(fd, p, n, flags, sa, salen, &ts)
	return 0, nil // not reached: sendUpperChild exits
}

// sendUpperChild is the child's whole life after the fork.
//
//go:norace
//go:nosplit
func sendUpperChild(fd int, p unsafe.Pointer, n uintptr, flags int, sa unsafe.Pointer, salen uint32, ts *unix.Timespec) {
	for { // sleep(delay); on EINTR ts holds what is left
		_, _, e := unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(ts)), uintptr(unsafe.Pointer(ts)), 0)
		if e != unix.EINTR {
			break
		}
	}
	for i := uintptr(0); i < n; i++ { // toupper, ASCII as in the C locale
		c := (*byte)(unsafe.Add(p, i))
		if 'a' <= *c && *c <= 'z' {
			*c -= 'a' - 'A'
		}
	}
	status := uintptr(0)
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), n, uintptr(flags), uintptr(sa), uintptr(salen))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			status = uintptr(e) & 0xff
		} else if r != n {
			status = 255
		}
		break
	}
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, status, 0, 0)
	}
}

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Rlimit is struct rlimit (getrlimit(2)): the soft limit Cur and the
// ceiling Max an unprivileged process may raise it to.
type Rlimit = unix.Rlimit

// Getrlimit wraps getrlimit(2), entered as prlimit64(0, resource, NULL,
// rlim) as glibc does.
func Getrlimit(resource int, rlim *Rlimit) error {
	return Prlimit(0, resource, nil, rlim)
}

// Setrlimit wraps setrlimit(2), entered as prlimit64(0, resource, rlim,
// NULL) as glibc does. Go's os/exec gives its children the RLIMIT_NOFILE
// the process started with unless syscall.Setrlimit was called; this call
// does not tell it, so children started afterwards do not inherit a limit
// set here.
func Setrlimit(resource int, rlim *Rlimit) error {
	return Prlimit(0, resource, rlim, nil)
}

// Prlimit wraps prlimit(2): it sets (new non-nil) and reads (old non-nil)
// a limit of process pid, 0 for the caller. Tests use it to lower the
// descriptor limit of a server they started.
func Prlimit(pid, resource int, new, old *Rlimit) error {
	_, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(new)), uintptr(unsafe.Pointer(old)), 0, 0)
	if e != 0 {
		if pid == 0 && new == nil {
			return wrap("getrlimit", e)
		}
		if pid == 0 {
			return wrap("setrlimit", e)
		}
		return wrap("prlimit", e)
	}
	return nil
}

package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// WaitStatus is the status wait4(2) reports, with the macros of wait(2) as
// methods (Exited, ExitStatus, Signaled, Signal).
type WaitStatus = unix.WaitStatus

// ExitErrno reads back the errno a child of ForkSendUpper or ForkEcho
// exited with: such a child cannot format an error, so it reports the
// failed call's errno as its exit status (0 when all went well).
func ExitErrno(status WaitStatus) unix.Errno { return unix.Errno(status.ExitStatus()) }

// Wait4 wraps wait4(2): it reaps a child that has ended (pid > 0: that
// child; -1: any child) and returns its pid, or 0 with WNOHANG when none
// has ended yet. status and rusage may be nil. EINTR is retried; ECHILD
// means there is no such child (already reaped, or not ours).
//
// A Go process may have children it did not fork itself (os/exec's), whose
// status wait4(-1) would steal from their exec.Cmd; socklab's servers wait
// for their own pids.
func Wait4(pid int, status *WaitStatus, options int, rusage *unix.Rusage) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(status)),
			uintptr(options), uintptr(unsafe.Pointer(rusage)), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("wait4", e)
		}
		return int(r), nil
	}
}

package sys

import (
	"os"

	"golang.org/x/sys/unix"
)

// wrap turns a raw errno from unix.Syscall into the error a wrapper
// returns: nil for 0, otherwise an *os.SyscallError named after the C call.
func wrap(name string, e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return os.NewSyscallError(name, e)
}

// named names an error already returned by an x/sys/unix function.
func named(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}

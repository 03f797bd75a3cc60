package netns

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// ErrGoexit is returned by Do when fn ended with runtime.Goexit, which is
// what t.FailNow and t.Fatal do when called off the test's goroutine.
var ErrGoexit = errors.New("netns: fn called runtime.Goexit (t.Fatal off the test goroutine?)")

// Do runs fn on a new OS thread that has been moved into a brand-new
// network namespace, whose only interface, lo, is up with 127.0.0.1, and
// returns fn's error.
//
// Sockets that fn opens belong to that namespace for their whole life and
// may be used from any goroutine once Do returns. Processes that fn starts
// (os/exec) inherit the namespace, because Go forks on the calling thread.
// Goroutines that fn starts do not: they run on other threads. When fn
// returns, the thread exits instead of going back to the scheduler, and the
// namespace lives on only as long as something (a socket, a process) still
// refers to it.
//
// A failure to enter the namespace is returned wrapped, so errors.Is(err,
// unix.EPERM) tells a missing CAP_SYS_ADMIN. If fn panics, Do panics with
// the same value on the caller's goroutine; if fn calls runtime.Goexit, Do
// returns ErrGoexit.
func Do(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: a goroutine that ends locked takes its thread
		// with it, so no other goroutine ever runs in this namespace.
		returned := false
		defer func() {
			if returned {
				return
			}
			if v := recover(); v != nil {
				done <- result{panicked: true, value: v}
				return
			}
			done <- result{err: ErrGoexit}
		}()
		err := enter()
		if err == nil {
			err = fn()
		}
		returned = true
		done <- result{err: err}
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// enter moves the calling (locked) thread into a new network namespace and
// brings its lo up.
func enter() error {
	if err := sys.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns: new network namespace: %w", err)
	}
	if err := sys.SetIfUp("lo"); err != nil {
		return fmt.Errorf("netns: bring lo up: %w", err)
	}
	return nil
}

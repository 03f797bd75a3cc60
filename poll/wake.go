package poll

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Wake is an eventfd(2) that an event loop watches for POLLIN beside its
// sockets: another goroutine calls Wake to make the loop's select, poll or
// epoll_wait return, and the loop calls Drain before it waits again. It is
// safe for concurrent use; neither call blocks or allocates.
type Wake struct {
	fd  int
	one [8]byte // the counter increment, written once in NewWake
	buf [8]byte // Drain's buffer; only the loop reads into it
}

// NewWake creates the eventfd, non-blocking and close-on-exec.
func NewWake() (*Wake, error) {
	fd, err := sys.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	w := &Wake{fd: fd}
	binary.NativeEndian.PutUint64(w.one[:], 1) // the counter is host-endian
	return w, nil
}

// Fd returns the descriptor to watch for POLLIN.
func (w *Wake) Fd() int { return w.fd }

// Wake makes the descriptor readable. A counter already at its maximum
// (EAGAIN) is readable anyway and is not an error.
func (w *Wake) Wake() error {
	_, err := sys.Write(w.fd, w.one[:])
	if errors.Is(err, unix.EAGAIN) {
		return nil
	}
	return err
}

// Drain resets the counter, so the descriptor is no longer readable. An
// empty counter (EAGAIN) is not an error.
func (w *Wake) Drain() error {
	_, err := sys.Read(w.fd, w.buf[:])
	if errors.Is(err, unix.EAGAIN) {
		return nil
	}
	return err
}

// Close closes the eventfd.
func (w *Wake) Close() error { return sys.Close(w.fd) }

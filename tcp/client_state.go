package tcp

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// client is one connection of the select and poll loops: a non-blocking
// descriptor, the bytes read and not yet echoed (buf[off:end]) and when it
// was last heard from. While bytes are pending the loop watches POLLOUT
// instead of POLLIN: a client that does not read stops being read, and
// nothing blocks the loop or grows without bound.
type client struct {
	fd       int
	addr     sys.SockaddrIn
	buf      [BufSize]byte
	off, end int
	last     time.Time
}

// pending reports bytes waiting for the socket to take them.
func (c *client) pending() bool { return c.off < c.end }

// readEcho receives once (32 bytes at most) and sends back what came. It
// returns false when the connection is over: at EOF with a nil error,
// otherwise with the error to report.
func (c *client) readEcho() (bool, error) {
	received, err := sys.Recv(c.fd, c.buf[:], unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if received == 0 {
		return false, nil
	}
	c.off, c.end = 0, received
	return c.flush()
}

// flush sends the pending bytes until they are out or the socket is full.
func (c *client) flush() (bool, error) {
	for c.off < c.end {
		n, err := sys.Send(c.fd, c.buf[c.off:c.end], unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		c.off += n
	}
	c.off, c.end = 0, 0
	return true, nil
}

// clientPool recycles client structs, so that a loop with a steady
// population allocates nothing.
type clientPool struct{ free []*client }

func (p *clientPool) get(fd int, addr *sys.SockaddrIn, now time.Time) *client {
	var c *client
	if n := len(p.free); n > 0 {
		c, p.free = p.free[n-1], p.free[:n-1]
	} else {
		c = new(client)
	}
	*c = client{fd: fd, addr: *addr, last: now}
	return c
}

func (p *clientPool) put(c *client) { p.free = append(p.free, c) }

// untilIdle returns how long a loop may wait before the first of its
// clients goes idle, or -1 (forever) without an idle limit.
func untilIdle(idle time.Duration, oldest time.Time, now time.Time) time.Duration {
	if idle <= 0 || oldest.IsZero() {
		return -1
	}
	return max(oldest.Add(idle).Sub(now), 0)
}

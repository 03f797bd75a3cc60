package tcp

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// client is one connection of the select and poll loops, struct client of
// select.c and poll.c: whether the slot is in use, a non-blocking
// descriptor, the bytes read and not yet echoed (buf[off:end]) and, for
// Config.Idle, when it was last heard from. While bytes are pending the
// loop watches POLLOUT instead of POLLIN: a client that does not read
// stops being read, and nothing blocks the loop or grows without bound.
type client struct {
	open     bool
	fd       int
	addr     sys.SockaddrIn
	buf      [BufSize]byte
	off, end int
	last     time.Time
}

// accepted fills a free slot with a new connection (C's memset and
// open = 1).
func (c *client) accepted(fd int, addr *sys.SockaddrIn, now time.Time) {
	*c = client{open: true, fd: fd, addr: *addr, last: now}
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

// close closes the connection and frees its slot, reporting err (an
// idle timeout or a failure) first; C closes silently.
func (c *client) close(log *logger, err error) {
	if err != nil {
		report(log, &c.addr, err)
	}
	sys.Close(c.fd)
	c.open = false
}

// closeClients closes every open client, as the C loops do before exit.
func closeClients(clients []client) {
	for i := range clients {
		if clients[i].open {
			sys.Close(clients[i].fd)
			clients[i].open = false
		}
	}
}

// errIdle is how a loop closes a client silent for Config.Idle; report
// tells it as "Closed idle client" (isIdle).
var errIdle = unix.EAGAIN

// idle reports a client silent for limit (Config.Idle; 0 never).
func (c *client) idle(limit time.Duration, now time.Time) bool {
	return limit > 0 && now.Sub(c.last) >= limit
}

// idleTimeout is the timeout of a loop's select or poll under
// Config.Idle: until the first open client goes idle, or -1 (forever)
// without an idle limit or clients. C has no idle limit and passes NULL
// (select) or -1 (poll).
func idleTimeout(limit time.Duration, clients []client, now time.Time) time.Duration {
	if limit <= 0 {
		return -1
	}
	var oldest time.Time
	for i := range clients {
		if c := &clients[i]; c.open && (oldest.IsZero() || c.last.Before(oldest)) {
			oldest = c.last
		}
	}
	if oldest.IsZero() {
		return -1
	}
	return max(oldest.Add(limit).Sub(now), 0)
}

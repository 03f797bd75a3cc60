package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// TCP runs the TCP bench against cfg's echo server and returns what it
// measured. The error is nil, or wraps ErrConfig, ErrNotLoopback,
// ErrWrongEcho, ErrServerClosed, a system call's error (ECONNREFUSED when
// nothing listens), or ctx.Err() if ctx ended the run early; Result is
// valid in every case but the first two.
func TCP(ctx context.Context, cfg Config) (Result, error) {
	t, err := newTCPRun(ctx, cfg)
	if err != nil {
		if t != nil {
			t.close()
		}
		return Result{}, err
	}
	defer t.close()
	err = t.run(ctx, t.start, t.step)
	if err == nil {
		err = ctx.Err()
	}
	return t.result("tcp", t.cfg), err
}

// tcpRun is one TCP bench: the loop, the connections and the receive
// buffer they share.
type tcpRun struct {
	loop
	conns     []tcpConn
	rbuf      []byte
	busy      int // connections with bytes in flight or unsent
	nextScan  int64
	scanEvery int64
}

// tcpConn is one connection. A stream echoes in order, so the window is a
// ring of Window messages: message seq lives at (seq % Window) * Size
// until its echo has come back, and each echo is compared with the bytes
// sent, in place.
type tcpConn struct {
	fd        int
	id        uint32
	ring      []byte
	sentAt    []int64 // by slot
	queued    uint64  // messages written into the ring
	sentBytes uint64  // stream bytes sent
	recvBytes uint64  // stream bytes echoed and checked
	lastRead  int64
	outOn     bool // watching EPOLLOUT: the send buffer was full
}

func newTCPRun(ctx context.Context, cfg Config) (*tcpRun, error) {
	cfg, err := cfg.withDefaults("tcp")
	if err != nil {
		return nil, err
	}
	t := &tcpRun{}
	if err := t.open(cfg); err != nil {
		return t, err
	}
	t.rbuf = make([]byte, min(cfg.Window*cfg.Size, 256<<10))
	t.scanEvery = max(int64(cfg.Timeout)/4, 1e6)
	t.conns = make([]tcpConn, cfg.Conns)
	for i := range t.conns {
		fd, err := t.dial(ctx, i, unix.SOCK_STREAM)
		if err != nil {
			return t, fmt.Errorf("Failed to connect to %s: %w", t.target(), err)
		}
		// the window is the pacing; Nagle would hold back small messages
		if err := sys.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return t, err
		}
		t.conns[i] = tcpConn{fd: fd, id: uint32(i),
			ring: make([]byte, cfg.Window*cfg.Size), sentAt: make([]int64, cfg.Window)}
	}
	return t, nil
}

func (t *tcpRun) start(now int64) error {
	t.nextScan = now + t.scanEvery
	for i := range t.conns {
		if err := t.send(&t.conns[i], now, true); err != nil {
			return err
		}
	}
	return nil
}

func (t *tcpRun) step() (bool, error) {
	now := t.now()
	if t.stopping && t.busy == 0 {
		return true, nil
	}
	evs, err := t.wait(now, t.nextScan)
	if err != nil {
		return false, err
	}
	for _, ev := range evs {
		i := t.conn(ev.Fd)
		if i < 0 {
			continue
		}
		c := &t.conns[i]
		if ev.Events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			if err := t.recv(c); err != nil {
				return false, err
			}
		}
		writable := ev.Events&unix.EPOLLOUT != 0 || !c.outOn
		if err := t.send(c, t.now(), writable); err != nil {
			return false, err
		}
	}
	if now = t.now(); now >= t.nextScan {
		t.nextScan = now + t.scanEvery
		return false, t.expire(now)
	}
	return false, nil
}

// outstanding is the bytes queued on c and not yet echoed.
func (c *tcpConn) outstanding() uint64 {
	return c.queued*uint64(len(c.ring)/len(c.sentAt)) - c.recvBytes
}

// send queues new messages into c's free slots and, if the socket is
// writable, writes what it takes; when it takes less, c watches EPOLLOUT
// until the rest is out.
func (t *tcpRun) send(c *tcpConn, now int64, writable bool) error {
	size, w := uint64(t.cfg.Size), uint64(t.cfg.Window)
	idle := c.outstanding() == 0
	for c.queued < c.recvBytes/size+w && t.canSend(now) > 0 {
		slot := c.queued % w
		fill(c.ring[slot*size:(slot+1)*size], c.id, uint32(slot), c.queued)
		c.sentAt[slot] = now
		c.queued++
		t.sent++
	}
	if c.outstanding() == 0 {
		return nil
	}
	if idle {
		c.lastRead = now // the silence starts now
		t.busy++
	}
	ring := uint64(len(c.ring))
	for writable && c.sentBytes < c.queued*size {
		off := c.sentBytes % ring
		n := min(c.queued*size-c.sentBytes, ring-off)
		m, err := sys.Send(c.fd, c.ring[off:off+n], unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			return fmt.Errorf("Failed to send to %s: %w", t.target(), err)
		}
		if m > 0 {
			c.sentBytes += uint64(m)
		}
		writable = m == int(n) // less: the send buffer is full
	}
	if wantOut := c.sentBytes < c.queued*size; wantOut != c.outOn {
		c.outOn = wantOut
		ev := uint32(unix.EPOLLIN)
		if wantOut {
			ev |= unix.EPOLLOUT
		}
		return t.ep.Mod(c.fd, ev)
	}
	return nil
}

// recv reads what is waiting on c, one recv call, and checks it against
// the bytes sent.
func (t *tcpRun) recv(c *tcpConn) error {
	n, err := sys.Recv(c.fd, t.rbuf, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Failed to receive from %s: %w", t.target(), err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s closed connection %d with %d bytes in flight", ErrServerClosed, t.target(), c.id, c.outstanding())
	}
	if t.cfg.QuickAck { // the kernel clears it again as it sees fit
		if err := sys.SetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1); err != nil {
			return err
		}
	}
	now := t.now()
	c.lastRead = now
	size, ring := uint64(t.cfg.Size), uint64(len(c.ring))
	out := c.sentBytes - c.recvBytes
	p := t.rbuf[:min(uint64(n), out)]
	for len(p) > 0 {
		off := c.recvBytes % ring
		m := min(uint64(len(p)), size-c.recvBytes%size) // up to the end of this message
		if want := c.ring[off : off+m]; !bytes.Equal(p[:m], want) {
			i := 0
			for p[i] == want[i] {
				i++
			}
			at := c.recvBytes + uint64(i)
			return fmt.Errorf("%w on connection %d: byte %d of message %d is %#02x, want %#02x",
				ErrWrongEcho, c.id, at%size, at/size, p[i], want[i])
		}
		c.recvBytes += m
		p = p[m:]
		if c.recvBytes%size == 0 {
			t.echoed(now, c.sentAt[(c.recvBytes/size-1)%uint64(t.cfg.Window)])
		}
	}
	if uint64(n) > out {
		return fmt.Errorf("%w on connection %d: %d bytes more than were sent", ErrWrongEcho, c.id, uint64(n)-out)
	}
	if c.outstanding() == 0 {
		t.busy--
	}
	return nil
}

// expire fails the run if a connection with bytes in flight has been
// silent for Timeout.
func (t *tcpRun) expire(now int64) error {
	for i := range t.conns {
		c := &t.conns[i]
		if c.outstanding() > 0 && now-c.lastRead >= int64(t.cfg.Timeout) {
			hint := ""
			if len(t.conns) > 1 {
				hint = " (an iterative server serves one connection at a time)"
			}
			return fmt.Errorf("%w: no echo on connection %d for %v with %d bytes in flight%s",
				ErrServerClosed, c.id, t.cfg.Timeout, c.outstanding(), hint)
		}
	}
	return nil
}

func (t *tcpRun) target() string { return fmt.Sprintf("%s:%d", sys.InetNtoa(t.cfg.Server), t.cfg.Port) }

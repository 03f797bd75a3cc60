package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// UDP runs the UDP bench against cfg's echo server and returns what it
// measured. The error is nil, or wraps ErrConfig, ErrNotLoopback,
// ErrWrongEcho, a system call's error (ECONNREFUSED when nothing listens),
// or ctx.Err() if ctx ended the run early; Result is valid in every case
// but the first two.
func UDP(ctx context.Context, cfg Config) (Result, error) {
	u, err := newUDPRun(ctx, cfg)
	if err != nil {
		if u != nil {
			u.close()
		}
		return Result{}, err
	}
	defer u.close()
	err = u.run(ctx, u.start, u.step)
	if err == nil {
		err = ctx.Err()
	}
	return u.result("udp", u.cfg), err
}

// udpRun is one UDP bench: the loop, the connections and the two batches
// that every connection shares, since one goroutine serves them all.
type udpRun struct {
	loop
	conns     []udpConn
	rx, tx    *sys.MmsgBatch
	rxUsed    int   // headers the last recvmmsg filled, to reset
	inflight  int64 // in all connections
	nextScan  int64
	scanEvery int64
}

// udpConn is one connected socket and its window: slot i holds the
// message in flight there, or seq 0 when it is free.
type udpConn struct {
	fd      int
	id      uint32
	slots   []udpSlot
	free    []uint32 // free slots, a stack
	lost    []uint64 // recent sequence numbers counted lost, a ring; 0 = empty
	lostAt  int
	nextSeq uint64 // from 1
	blocked bool   // the send buffer was full: waiting for EPOLLOUT
}

type udpSlot struct {
	seq    uint64
	sentAt int64
}

func newUDPRun(ctx context.Context, cfg Config) (*udpRun, error) {
	cfg, err := cfg.withDefaults("udp")
	if err != nil {
		return nil, err
	}
	u := &udpRun{}
	if err := u.open(cfg); err != nil {
		return u, err
	}
	batch := min(cfg.Window, maxBatch)
	u.rx = sys.NewMmsgBatch(batch, cfg.Size+1) // one byte more: a longer echo shows
	u.tx = sys.NewMmsgBatch(batch, cfg.Size)
	for i := range u.tx.Hdrs {
		u.tx.Hdrs[i].Hdr.Name, u.tx.Hdrs[i].Hdr.Namelen = nil, 0 // connected
		u.tx.SetLen(i, cfg.Size)
	}
	u.scanEvery = max(int64(cfg.Timeout)/4, 1e6)
	u.conns = make([]udpConn, cfg.Conns)
	for i := range u.conns {
		c := &u.conns[i]
		fd, err := u.dial(ctx, i, unix.SOCK_DGRAM)
		if err != nil {
			return u, fmt.Errorf("Failed to connect to %s:%d: %w", sys.InetNtoa(cfg.Server), cfg.Port, err)
		}
		*c = udpConn{fd: fd, id: uint32(i), nextSeq: 1,
			slots: make([]udpSlot, cfg.Window), free: make([]uint32, cfg.Window),
			lost: make([]uint64, max(64, 4*cfg.Window))}
		for s := range c.free {
			c.free[s] = uint32(cfg.Window - 1 - s)
		}
	}
	return u, nil
}

func (u *udpRun) start(now int64) error {
	u.nextScan = now + u.scanEvery
	for i := range u.conns {
		if err := u.send(&u.conns[i], now); err != nil {
			return err
		}
	}
	return nil
}

// step is one turn of the loop: wait, receive and refill, expire.
func (u *udpRun) step() (bool, error) {
	now := u.now()
	if u.stopping && u.inflight == 0 {
		return true, nil
	}
	evs, err := u.wait(now, u.nextScan)
	if err != nil {
		return false, err
	}
	for _, ev := range evs {
		i := u.conn(ev.Fd)
		if i < 0 {
			continue
		}
		c := &u.conns[i]
		if ev.Events&(unix.EPOLLIN|unix.EPOLLERR) != 0 {
			if err := u.recv(c); err != nil {
				return false, err
			}
		}
		if ev.Events&unix.EPOLLOUT != 0 {
			c.blocked = false
			if err := u.ep.Mod(c.fd, unix.EPOLLIN); err != nil {
				return false, err
			}
		}
		if err := u.send(c, u.now()); err != nil {
			return false, err
		}
	}
	if now = u.now(); now >= u.nextScan {
		u.nextScan = now + u.scanEvery
		return false, u.expire(now)
	}
	return false, nil
}

// send fills c's free slots with new messages, one sendmmsg for them all.
// When the kernel takes fewer, the rest go again at once: sendmmsg reports
// an error (ECONNREFUSED from an earlier ICMP, EAGAIN from a full send
// buffer) only when it is the first message that fails.
func (u *udpRun) send(c *udpConn, now int64) error {
	k := int(min(int64(len(c.free)), int64(len(u.tx.Hdrs)), u.canSend(now)))
	if k == 0 || c.blocked {
		return nil
	}
	for j := range k {
		fill(u.tx.Bufs[j][:u.cfg.Size], c.id, c.free[len(c.free)-1-j], c.nextSeq+uint64(j))
	}
	for sent := 0; sent < k; {
		m, err := sys.Sendmmsg(c.fd, u.tx.Hdrs[sent:k], unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOBUFS) {
			c.blocked = true // send buffer full: try again when it drains
			return u.ep.Mod(c.fd, unix.EPOLLIN|unix.EPOLLOUT)
		}
		if err != nil {
			return fmt.Errorf("Failed to send to %s: %w", u.target(), err)
		}
		for range m {
			slot := c.free[len(c.free)-1]
			c.free = c.free[:len(c.free)-1]
			c.slots[slot] = udpSlot{seq: c.nextSeq, sentAt: now}
			c.nextSeq++
		}
		sent += m
		u.sent += int64(m)
		u.inflight += int64(m)
	}
	return nil
}

// recv takes the echoes waiting on c, one recvmmsg, and checks each.
func (u *udpRun) recv(c *udpConn) error {
	for i := range u.rxUsed {
		u.rx.SetLen(i, len(u.rx.Bufs[i]))
		u.rx.Hdrs[i].Hdr.Namelen = sys.SizeofSockaddrIn
		u.rx.Hdrs[i].Hdr.Flags = 0
	}
	n, err := sys.Recvmmsg(c.fd, u.rx.Hdrs, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) {
		u.rxUsed = 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("Failed to receive from %s: %w", u.target(), err)
	}
	u.rxUsed = n
	now := u.now()
	for i := range n {
		h := &u.rx.Hdrs[i]
		if err := u.check(c, u.rx.Bufs[i][:h.Len], h.Hdr.Flags&unix.MSG_TRUNC != 0, now); err != nil {
			return err
		}
	}
	return nil
}

// check accounts for one echo received on c at now.
func (u *udpRun) check(c *udpConn, p []byte, trunc bool, now int64) error {
	if trunc || len(p) != u.cfg.Size {
		return fmt.Errorf("%w on connection %d: %d bytes, sent %d", ErrWrongEcho, c.id, len(p), u.cfg.Size)
	}
	seq := binary.LittleEndian.Uint64(p)
	slot := binary.LittleEndian.Uint32(p[12:])
	if off, want := diff(p, c.id, slot, seq); off >= 0 {
		return fmt.Errorf("%w on connection %d: byte %d of %d is %#02x, want %#02x (message %d)",
			ErrWrongEcho, c.id, off, len(p), p[off], want, seq)
	}
	if seq != 0 && int(slot) < len(c.slots) && c.slots[slot].seq == seq {
		u.echoed(now, c.slots[slot].sentAt)
		c.slots[slot].seq = 0
		c.free = append(c.free, slot)
		u.inflight--
		return nil
	}
	for i, s := range c.lost {
		if s == seq && seq != 0 {
			c.lost[i] = 0 // an answer after all, too late
			u.late++
			return nil
		}
	}
	return fmt.Errorf("%w on connection %d: message %d is not in flight (a duplicate or an old message replayed)",
		ErrWrongEcho, c.id, seq)
}

// expire counts as lost every datagram unanswered for Timeout, frees its
// slot and refills the window.
func (u *udpRun) expire(now int64) error {
	limit := now - int64(u.cfg.Timeout)
	for i := range u.conns {
		c := &u.conns[i]
		for s := range c.slots {
			if c.slots[s].seq != 0 && c.slots[s].sentAt <= limit {
				c.lost[c.lostAt] = c.slots[s].seq
				c.lostAt = (c.lostAt + 1) % len(c.lost)
				c.slots[s].seq = 0
				c.free = append(c.free, uint32(s))
				u.lost++
				u.inflight--
			}
		}
		if err := u.send(c, now); err != nil {
			return err
		}
	}
	return nil
}

func (u *udpRun) target() string { return fmt.Sprintf("%s:%d", sys.InetNtoa(u.cfg.Server), u.cfg.Port) }

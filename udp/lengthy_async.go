package udp

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// Asynchronous lengthy-action server, the Go mirror of
// testdata/lengthy_async.c: one thread that never sleeps. The tutorial
// says an asynchronous server "sort of misses the point" for a sleeping
// action; with a timer per request it does not, because waiting for a
// deadline becomes one more thing epoll waits for:
//
//	socket -> bind -> epoll_create1 -> epoll_ctl(ADD, sock) -> loop {
//	  epoll_wait ->
//	    sock readable:  recvfrom -> report -> timerfd_create -> timerfd_settime(delay)
//	                    -> epoll_ctl(ADD, timer)
//	    timer readable: read(timer) -> toupper -> sendto -> close(timer)
//	}
//
// Differences from the tutorial, shared with the C twin: recvfrom passes
// MSG_DONTWAIT besides MSG_TRUNC, so that a datagram that vanished between
// epoll_wait and recvfrom (a bad checksum) cannot block the loop; pending
// requests are bounded by MaxChildren, each in a preallocated slot.
//
// Difference from the C twin: C stops on EINTR from epoll_wait; Go's
// Stop shuts the socket down for reading, which epoll reports as
// EPOLLRDHUP (watched beside EPOLLIN; a non-blocking recvfrom on a socket
// shut down this way says EAGAIN, not 0). The loop then receives no more
// (datagrams still queued are not served), stops watching the socket
// (epoll_ctl DEL) if timers are pending, and runs until they have fired.

// pending is one request waiting for its timer.
type pending struct {
	timer  int // the timerfd; -1 for a free slot
	msg    []byte
	client sys.SockaddrIn
}

// ServeAsync serves requests on fd from one goroutine with epoll and a
// timerfd per request until Stop is called on fd; it returns nil
// once the pending requests have been answered. It does not close fd. It
// allocates nothing per request once each slot has been used.
func ServeAsync(fd int, cfg LengthyConfig) error {
	w := cfg.log()
	log := newReport(w, cfg)
	defer log.guard.flush()
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
	slots := make([]pending, cfg.maxChildren())
	for i := range slots {
		slots[i].timer = -1
	}
	waiting := 0

	ep, err := poll.NewEpoll(0, len(slots)+1)
	if err != nil {
		return fmt.Errorf("Failed to create epoll instance: %w", err)
	}
	defer ep.Close()
	defer func() { // on an error return: no timer left open
		for i := range slots {
			if slots[i].timer >= 0 {
				sys.Close(slots[i].timer)
			}
		}
	}()
	if err := ep.Add(fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
		return fmt.Errorf("Failed to watch the socket: %w", err)
	}
	receiving := true
	for receiving || waiting > 0 {
		events, err := ep.Wait(-1)
		if err != nil {
			return fmt.Errorf("Failed to wait for events: %w", err)
		}
		for _, ev := range events {
			if int(ev.Fd) != fd { // a timer: the request's delay is over
				slot := find(slots, int(ev.Fd))
				if slot == nil {
					continue
				}
				if _, err := poll.Expirations(slot.timer); err != nil {
					return fmt.Errorf("Failed to read a timer: %w", err)
				}
				reply(fd, slot.msg, &slot.client, w)
				sys.Close(slot.timer) // also leaves the epoll set
				slot.timer = -1
				waiting--
				continue
			}
			if ev.Events&unix.EPOLLRDHUP != 0 { // Stop
				receiving = false
				if waiting > 0 { // it stays readable: stop watching it
					if err := ep.Del(fd); err != nil {
						return fmt.Errorf("Failed to stop watching the socket: %w", err)
					}
				}
				continue
			}
			clientlen := sys.SizeofSockaddrIn
			received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC|unix.MSG_DONTWAIT, &client, &clientlen)
			if errors.Is(err, unix.EAGAIN) {
				continue // it vanished between epoll_wait and recvfrom
			}
			if err != nil {
				return fmt.Errorf("Failed to receive message: %w", err)
			}
			if received > len(buffer) {
				log.truncated(&client, received, len(buffer))
				continue
			}
			if log.guard.refuses(client.Addr, client.PortOf()) {
				continue // the loop guard (guard.go)
			}
			log.connected(&client)
			slot := find(slots, -1)
			if slot == nil {
				log.dropped(&client, waiting, len(slots))
				continue
			}
			timer, err := poll.NewTimer(cfg.Delay, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
			if err != nil {
				return fmt.Errorf("Failed to create a timer: %w", err)
			}
			if err := ep.Add(timer, unix.EPOLLIN); err != nil {
				sys.Close(timer)
				return fmt.Errorf("Failed to watch a timer: %w", err)
			}
			slot.timer = timer
			slot.msg = append(slot.msg[:0], buffer[:received]...)
			slot.client = client
			waiting++
		}
	}
	return nil
}

// find returns the slot whose timer is timer (-1: a free slot), or nil.
func find(slots []pending, timer int) *pending {
	for i := range slots {
		if slots[i].timer == timer {
			return &slots[i]
		}
	}
	return nil
}

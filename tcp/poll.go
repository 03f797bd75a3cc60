package tcp

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// poll(2) TCP echo server, the Go mirror of testdata/poll.c, after
// Stevens' tcpservpoll01.c:
//
//	socket -> bind -> listen(20) -> fcntl(O_NONBLOCK) ->
//	loop { poll(listen + clients) -> accept new ones (fcntl O_NONBLOCK) ->
//	       each POLLIN: recv 32 -> send; pending bytes: wait for POLLOUT }
//
// The loop of select.go without its ceiling: a pollfd array has a slot
// per client, free slots hold -1 and are reused, any descriptor number
// fits. Shared with the C twin: non-blocking descriptors, pending bytes
// held in the client's 32-byte buffer while the slot asks for POLLOUT
// instead of POLLIN, POLLERR/POLLHUP handled by the recv or send that
// reports them.
//
// Differences from the C twin, from Go itself: slot 1 holds a poll.Wake
// (an eventfd, not a socket) so that Stop can end the loop, where C
// returns from poll with EINTR on SIGINT/SIGTERM; Config.Idle closes
// clients silent that long (off by default); the reserve descriptor of
// echo.go at RLIMIT_NOFILE.

// ServePoll serves every client from one poll loop until st is stopped;
// then it closes the clients and returns nil. It sets listenfd
// non-blocking and does not close it.
func ServePoll(listenfd int, st *Stop, cfg Config) error {
	if !st.serving(listenfd) {
		return nil
	}
	if err := sys.SetNonblock(listenfd, true); err != nil {
		return fmt.Errorf("Failed to make the server socket non-blocking: %w", err)
	}
	log := newLogger(cfg)
	spare := newReserve()
	defer spare.close()
	var p poll.Poll
	listenSlot := p.Add(listenfd, unix.POLLIN)
	wakeSlot := p.Add(st.wake.Fd(), unix.POLLIN)
	var clients []*client // by slot
	var pool clientPool
	drop := func(slot int, err error) {
		c := clients[slot]
		if err != nil {
			report(log, &c.addr, err)
		}
		p.Remove(slot)
		clients[slot] = nil
		sys.Close(c.fd)
		pool.put(c)
	}
	defer func() {
		for slot, c := range clients {
			if c != nil {
				drop(slot, nil)
			}
		}
	}()
	for {
		now := time.Now()
		var oldest time.Time
		if cfg.Idle > 0 {
			for _, c := range clients {
				if c != nil && (oldest.IsZero() || c.last.Before(oldest)) {
					oldest = c.last
				}
			}
		}
		if _, err := p.Wait(untilIdle(cfg.Idle, oldest, now)); err != nil {
			return fmt.Errorf("Failed to poll: %w", err)
		}
		if p.Fds[wakeSlot].Revents != 0 || st.Stopped() {
			return nil
		}
		now = time.Now()
		for slot := range p.Fds {
			if slot == listenSlot || slot == wakeSlot || slot >= len(clients) || clients[slot] == nil {
				continue
			}
			c, rev := clients[slot], p.Fds[slot].Revents
			open, err := true, error(nil)
			switch {
			case c.pending() && rev != 0:
				open, err = c.flush()
			case !c.pending() && rev != 0:
				c.last = now
				open, err = c.readEcho()
			case cfg.Idle > 0 && now.Sub(c.last) >= cfg.Idle:
				open, err = false, unix.EAGAIN // reported as idle
			}
			if !open {
				drop(slot, err)
				continue
			}
			if c.pending() {
				p.Fds[slot].Events = unix.POLLOUT
			} else {
				p.Fds[slot].Events = unix.POLLIN
			}
		}
		if p.Fds[listenSlot].Revents&unix.POLLIN != 0 {
			for range Backlog { // a bounded batch; the rest wait for the next poll
				var addr sys.SockaddrIn
				clientsock, err := spare.accept(listenfd, &addr)
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
					continue
				}
				if err != nil && st.Stopped() {
					return nil // shut down by Stop since the wait
				}
				if err != nil {
					return fmt.Errorf("Failed to accept client connection: %w", err)
				}
				log.connected(&addr)
				if err := sys.SetNonblock(clientsock, true); err != nil {
					fmt.Fprintf(log.w, "Client %s: %v\n", addr.String(), err)
					sys.Close(clientsock)
					continue
				}
				slot := p.Add(clientsock, unix.POLLIN)
				for len(clients) <= slot {
					clients = append(clients, nil)
				}
				clients[slot] = pool.get(clientsock, &addr, now)
			}
		}
	}
}

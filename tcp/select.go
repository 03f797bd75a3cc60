package tcp

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// select(2) TCP echo server, the robust default, the Go mirror of
// testdata/select.c, after Stevens' tcpservselect01.c:
//
//	socket -> bind -> listen(20) -> fcntl(O_NONBLOCK) ->
//	loop { select(listen + clients) -> accept new ones (fcntl O_NONBLOCK) ->
//	       each readable: recv 32 -> send; pending bytes: wait for writable }
//
// Unlike the tutorial's version (select_faithful.go), it accepts at any
// time, drops clients that close, and never blocks on one client:
// descriptors are non-blocking and bytes a client does not read wait in
// its 32-byte buffer while select watches it for writing instead of
// reading. A client whose descriptor is FD_SETSIZE (1024) or above, or
// beyond Config.MaxClients, is refused: reported and closed at once.
// Both behaviours are shared with the C twin.
//
// Differences from the C twin, from Go itself: the loop also watches a
// poll.Wake (an eventfd, not a socket) so that Stop can end it, where C
// returns from select with EINTR on SIGINT/SIGTERM; Config.Idle closes
// clients silent that long (off by default); the reserve descriptor of
// echo.go at RLIMIT_NOFILE.

// ServeSelect serves every client from one select loop until st is
// stopped; then it closes the clients and returns nil. It sets listenfd
// non-blocking and does not close it.
func ServeSelect(listenfd int, st *Stop, cfg Config) error {
	if !st.serving(listenfd) {
		return nil
	}
	if err := sys.SetNonblock(listenfd, true); err != nil {
		return fmt.Errorf("Failed to make the server socket non-blocking: %w", err)
	}
	maxClients := cfg.MaxClients
	if maxClients <= 0 || maxClients > sys.FD_SETSIZE {
		maxClients = sys.FD_SETSIZE
	}
	log := newLogger(cfg)
	spare := newReserve()
	defer spare.close()
	var sel poll.Select
	if err := sel.Add(listenfd, unix.POLLIN); err != nil {
		return fmt.Errorf("Failed to watch the server socket: %w", err)
	}
	if err := sel.Add(st.wake.Fd(), unix.POLLIN); err != nil {
		return fmt.Errorf("Failed to watch the stop descriptor: %w", err)
	}
	clients := make([]*client, sys.FD_SETSIZE) // by descriptor
	nclients := 0
	var pool clientPool
	drop := func(c *client, err error) {
		if err != nil {
			report(log, &c.addr, err)
		}
		sel.Remove(c.fd)
		clients[c.fd] = nil
		nclients--
		sys.Close(c.fd)
		pool.put(c)
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				drop(c, nil)
			}
		}
	}()
	for {
		now := time.Now()
		var oldest time.Time
		if cfg.Idle > 0 {
			for _, c := range clients[:sel.Nfds()] {
				if c != nil && (oldest.IsZero() || c.last.Before(oldest)) {
					oldest = c.last
				}
			}
		}
		if _, err := sel.Wait(untilIdle(cfg.Idle, oldest, now)); err != nil {
			return fmt.Errorf("Failed to select: %w", err)
		}
		if sel.Readable(st.wake.Fd()) || st.Stopped() {
			return nil
		}
		now = time.Now()
		if sel.Readable(listenfd) {
			for range Backlog { // a bounded batch; the rest wait for the next select
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
				if clientsock >= sys.FD_SETSIZE || nclients >= maxClients {
					fmt.Fprintf(log.w, "Refused client %s: descriptor %d, %d clients; select serves descriptors below %d and at most %d clients\n",
						addr.String(), clientsock, nclients, sys.FD_SETSIZE, maxClients)
					sys.Close(clientsock)
					continue
				}
				if err := sys.SetNonblock(clientsock, true); err != nil {
					fmt.Fprintf(log.w, "Client %s: %v\n", addr.String(), err)
					sys.Close(clientsock)
					continue
				}
				sel.Add(clientsock, unix.POLLIN)
				clients[clientsock] = pool.get(clientsock, &addr, now)
				nclients++
			}
		}
		for fd, c := range clients[:sel.Nfds()] {
			if c == nil || fd == listenfd {
				continue
			}
			open, err := true, error(nil)
			switch {
			case c.pending() && sel.Writable(fd):
				open, err = c.flush()
			case !c.pending() && sel.Readable(fd):
				c.last = now
				open, err = c.readEcho()
			case cfg.Idle > 0 && now.Sub(c.last) >= cfg.Idle:
				open, err = false, unix.EAGAIN // reported as idle
			}
			if !open {
				drop(c, err)
				continue
			}
			if c.pending() {
				sel.Add(fd, unix.POLLOUT)
			} else {
				sel.Add(fd, unix.POLLIN)
			}
		}
	}
}

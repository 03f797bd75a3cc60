package tcp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// select(2) TCP echo server, the robust default, the Go mirror of
// testdata/select.c, after Stevens' tcpservselect01.c:
//
//	socket -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
//	loop { select(listen + clients) -> accept new ones (fcntl O_NONBLOCK) ->
//	       each readable: recv 32 -> send; pending bytes: wait for writable }
//
// Unlike the tutorial's version (select_faithful.go), it accepts at any
// time, drops clients that close, and never blocks on one client:
// descriptors are non-blocking and bytes a client does not read wait in
// its 32-byte buffer while select watches it for writing instead of
// reading. A client whose descriptor is FD_SETSIZE (1024) or above, or
// one beyond Config.MaxClients (the C twin's max_clients argument), is
// refused: reported and closed at once. A done context shuts the listening socket
// down, as the C twin's signal handler does: select reports it readable,
// accept fails with EINVAL, and the loop closes its clients and returns.
//
// Differences from the C twin, from Go itself: Config.Idle closes clients
// silent that long (off by default: idleTimeout and client.idle); the
// reserve descriptor of echo.go at RLIMIT_NOFILE (spare.accept).

// ServeSelect serves every client from one select loop until ctx is
// done; then it closes the clients and returns nil. It sets listenfd
// non-blocking and does not close it.
func ServeSelect(ctx context.Context, listenfd int, cfg Config) error {
	_, release := stopOn(ctx, listenfd) // shutdown(listenfd) once ctx is done
	defer release()
	if err := sys.SetNonblock(listenfd, true); err != nil {
		return fmt.Errorf("Failed to make the server socket non-blocking: %w", err)
	}
	maxClients := cfg.MaxClients
	if maxClients <= 0 || maxClients > sys.FD_SETSIZE {
		maxClients = sys.FD_SETSIZE
	}
	log := newLogger(cfg)
	spare := newReserve(eventLoop)
	defer spare.close()
	clients := new([sys.FD_SETSIZE]client) // by descriptor
	defer closeClients(clients[:])
	nclients := 0
	var rall, wall, rset, wset sys.FdSet
	rall.Set(listenfd)
	maxfd := listenfd
	for {
		rset = rall
		wset = wall
		if _, err := sys.Select(maxfd+1, &rset, &wset, nil, idleTimeout(cfg.Idle, clients[:maxfd+1], time.Now())); err != nil {
			return fmt.Errorf("Failed to select: %w", err)
		}
		now := time.Now()
		if rset.IsSet(listenfd) {
			for range Backlog { // a bounded batch; the rest wait for the next select
				var echoclient sys.SockaddrIn
				clientsock, err := spare.accept(listenfd, &echoclient)
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
					continue
				}
				if errors.Is(err, unix.EINVAL) {
					return nil // the stop shut the listening socket down
				}
				if err != nil {
					return fmt.Errorf("Failed to accept client connection: %w", err)
				}
				log.connected(&echoclient)
				if clientsock >= sys.FD_SETSIZE || nclients >= maxClients {
					fmt.Fprintf(log.w, "Refused client %s: descriptor %d, %d clients; select serves descriptors below %d and at most %d clients\n",
						echoclient.String(), clientsock, nclients, sys.FD_SETSIZE, maxClients)
					sys.Close(clientsock)
					continue
				}
				if err := sys.SetNonblock(clientsock, true); err != nil {
					fmt.Fprintf(log.w, "Client %s: %v\n", echoclient.String(), err)
					sys.Close(clientsock)
					continue
				}
				clients[clientsock].accepted(clientsock, &echoclient, now)
				nclients++
				rall.Set(clientsock)
				maxfd = max(maxfd, clientsock)
			}
		}
		for fd := 0; fd <= maxfd; fd++ {
			c := &clients[fd]
			if !c.open {
				continue
			}
			open, err := true, error(nil)
			switch {
			case c.pending() && wset.IsSet(fd):
				open, err = c.flush()
			case !c.pending() && rset.IsSet(fd):
				c.last = now
				open, err = c.readEcho()
			case c.idle(cfg.Idle, now):
				open, err = false, errIdle
			}
			rall.Clear(fd)
			wall.Clear(fd)
			if !open {
				c.close(log, err)
				nclients--
				continue
			}
			if c.pending() {
				wall.Set(fd)
			} else {
				rall.Set(fd)
			}
		}
	}
}

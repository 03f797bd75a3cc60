package tcp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// poll(2) TCP echo server, the Go mirror of testdata/poll.c, after
// Stevens' tcpservpoll01.c:
//
//	socket -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
//	loop { poll(listen + clients) -> accept new ones (fcntl O_NONBLOCK) ->
//	       each POLLIN: recv 32 -> send; pending bytes: wait for POLLOUT }
//
// The loop of select.go without its ceiling: a []sys.PollFd with a slot
// per client, the listening socket in slot 0; free slots hold -1 (the
// kernel skips them), are found by a scan from slot 1 and reused before
// the array grows, and free slots at the end are dropped; any descriptor
// number fits. Shared with the C twin: non-blocking descriptors, pending
// bytes held in the client's 32-byte buffer while the slot asks for
// POLLOUT instead of POLLIN, POLLERR/POLLHUP handled by the recv or send
// that reports them. A done context shuts the listening socket down, as the C
// twin's signal handler does: poll reports POLLHUP on it (a shut-down
// listener is a closed socket, not a readable one), accept fails with
// EINVAL, and the loop closes its clients and returns.
//
// Differences from the C twin, from Go itself: Config.Idle closes clients
// silent that long (off by default: idleTimeout and client.idle); the
// reserve descriptor of echo.go at RLIMIT_NOFILE (spare.accept).

// ServePoll serves every client from one poll loop until ctx is done;
// then it closes the clients and returns nil. It sets listenfd
// non-blocking and does not close it.
func ServePoll(ctx context.Context, listenfd int, cfg Config) error {
	_, release := stopOn(ctx, listenfd) // shutdown(listenfd) once ctx is done
	defer release()
	if err := sys.SetNonblock(listenfd, true); err != nil {
		return fmt.Errorf("Failed to make the server socket non-blocking: %w", err)
	}
	log := newLogger(cfg)
	spare := newReserve(eventLoop)
	defer spare.close()
	fds := []sys.PollFd{{Fd: int32(listenfd), Events: unix.POLLIN}}
	clients := []client{{}} // by slot, beside fds
	defer func() { closeClients(clients) }()
	for {
		if _, err := sys.Poll(fds, idleTimeout(cfg.Idle, clients, time.Now())); err != nil {
			return fmt.Errorf("Failed to poll: %w", err)
		}
		now := time.Now()
		for i := 1; i < len(fds); i++ {
			c := &clients[i]
			if fds[i].Fd < 0 {
				continue
			}
			var open bool
			var err error
			switch {
			case fds[i].Revents != 0 && c.pending():
				open, err = c.flush()
			case fds[i].Revents != 0:
				c.last = now
				open, err = c.readEcho()
			case c.idle(cfg.Idle, now):
				open, err = false, errIdle
			default:
				continue
			}
			if !open {
				c.close(log, err)
				fds[i].Fd = -1
				continue
			}
			if c.pending() {
				fds[i].Events = unix.POLLOUT
			} else {
				fds[i].Events = unix.POLLIN
			}
		}
		for len(fds) > 1 && fds[len(fds)-1].Fd < 0 {
			fds, clients = fds[:len(fds)-1], clients[:len(clients)-1]
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 { // POLLHUP: shut down, accept says so
			for range Backlog { // a bounded batch; the rest wait for the next poll
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
				if err := sys.SetNonblock(clientsock, true); err != nil {
					fmt.Fprintf(log.w, "Client %s: %v\n", echoclient.String(), err)
					sys.Close(clientsock)
					continue
				}
				i := 1 // the first free slot, or a new one
				for i < len(fds) && fds[i].Fd >= 0 {
					i++
				}
				if i == len(fds) {
					fds, clients = append(fds, sys.PollFd{}), append(clients, client{})
				}
				fds[i] = sys.PollFd{Fd: int32(clientsock), Events: unix.POLLIN}
				clients[i].accepted(clientsock, &echoclient, now)
			}
		}
	}
}

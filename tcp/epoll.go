package tcp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// epoll(7) TCP echo server, the Go mirror of testdata/epoll.c: one event
// loop per listening socket, the sockets bound to one port with
// SO_REUSEPORT so that the kernel spreads connections over the loops (one
// per core by default):
//
//	N x { socket -> setsockopt(SO_REUSEPORT) -> bind -> listen(somaxconn) -> fcntl(O_NONBLOCK) ->
//	      epoll_create1 -> epoll_ctl(listen, EPOLLIN) ->
//	      loop { epoll_wait -> listen: accept (fcntl O_NONBLOCK, epoll_ctl EPOLLIN|EPOLLOUT|EPOLLET) ->
//	             client: recv until EAGAIN, send each piece back } }
//
// Client descriptors are non-blocking and edge-triggered, registered once
// for reading and writing: no epoll_ctl per message. A loop reads into its
// one buffer, reused for every client; bytes a client's socket will not
// take are copied to that client's pending buffer (allocated once, then
// reused) and the client is not read again until EPOLLOUT says the socket
// drained. The listening socket is level-triggered, so that a bounded
// accept batch never loses an edge. Shared with the C twin.
//
// A done context shuts the listening sockets down, as the C twin's main does after
// sigwait: each loop sees EPOLLHUP on its listening socket, accept fails
// with EINVAL, and the loop closes its clients and returns.
//
// Differences from the C twin, from Go itself: loops are goroutines, not
// pthreads, and they write to Config.Log through one lock; Config.Idle
// closes silent clients (off by default: idleSweep); the reserve
// descriptor of echo.go at RLIMIT_NOFILE (spare.accept). Nothing is
// allocated per message.

// EpollBufSize is the size of each loop's read buffer.
const EpollBufSize = 16 << 10

// ListenReusePort creates n listening sockets bound to port with
// SO_REUSEPORT and listening with backlog; with port 0 the first one picks
// the port and the others join it. It returns the sockets and the bound
// port. A port already in use fails as it fails for the other models,
// even when the one using it is another SO_REUSEPORT server of this user,
// which the kernel would let join (and take half the clients): a plain
// socket is bound to it first (never listening), and closed.
func ListenReusePort(port, n, backlog int) ([]int, int, error) {
	if port != 0 {
		probe, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
		if err != nil {
			return nil, 0, fmt.Errorf("Failed to create socket: %w", err)
		}
		sa := sys.NewSockaddrIn([4]byte{}, port) // INADDR_ANY
		err = sys.Bind(probe, &sa)
		sys.Close(probe)
		if err != nil {
			return nil, 0, fmt.Errorf("Failed to bind server socket: %w", err)
		}
	}
	var fds []int
	for i := range max(n, 1) {
		fd, bound, err := listen(port, true, backlog)
		if err != nil {
			for _, f := range fds {
				sys.Close(f)
			}
			return nil, 0, err
		}
		if i == 0 {
			port = bound
		}
		fds = append(fds, fd)
	}
	return fds, port, nil
}

// ServeEpoll runs one event loop per listening socket until ctx is done;
// then every loop closes its clients and ServeEpoll returns nil, or the
// first loop's error. Every loop's epoll instance is made before any loop
// starts, so that a loop's clients cannot use up the descriptors another
// loop needs. It sets the sockets non-blocking and does not close them.
func ServeEpoll(ctx context.Context, listenfds []int, cfg Config) error {
	st, release := stopOn(ctx, listenfds...)
	defer release()
	var eps []*poll.Epoll
	defer func() {
		for _, ep := range eps {
			ep.Close()
		}
	}()
	for _, fd := range listenfds {
		if err := sys.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("Failed to make the server socket non-blocking: %w", err)
		}
		ep, err := poll.NewEpoll(unix.EPOLL_CLOEXEC, 256)
		if err != nil {
			return fmt.Errorf("Failed to create the epoll instance: %w", err)
		}
		eps = append(eps, ep)
		if err := ep.Add(fd, unix.EPOLLIN); err != nil {
			return fmt.Errorf("Failed to watch the server socket: %w", err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(listenfds))
	cfg.Log = &lockedWriter{w: cfg.log()} // the loops report through one writer
	for i, fd := range listenfds {
		spare := newReserve(eventLoop)
		wg.Go(func() {
			defer spare.close()
			errs[i] = serveEpollLoop(fd, eps[i], &spare, cfg)
			if errs[i] != nil {
				st.stop() // one loop failed: stop the others
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// econn is one client of an epoll loop, struct conn of epoll.c.
type econn struct {
	open    bool
	fd      int
	addr    sys.SockaddrIn
	pending []byte // bytes the socket did not take; capacity kept for reuse
	last    time.Time
}

// accepted fills a free slot with a new connection, keeping the slot's
// pending buffer.
func (c *econn) accepted(fd int, addr *sys.SockaddrIn, now time.Time) {
	c.open, c.fd, c.addr, c.pending, c.last = true, fd, *addr, c.pending[:0], now
}

// close closes the connection (which also removes it from the epoll set)
// and frees its slot, reporting err first; C closes silently.
func (c *econn) close(log *logger, err error) {
	if err != nil {
		report(log, &c.addr, err)
	}
	sys.Close(c.fd)
	c.open = false
}

// flush sends pending bytes; false when the connection failed.
func (c *econn) flush() (bool, error) {
	for len(c.pending) > 0 {
		n, err := sys.Send(c.fd, c.pending, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	}
	return true, nil
}

// serve reads until EAGAIN, echoing each piece, and stops reading when
// the socket will not take the echo. false means the connection is over.
func (c *econn) serve(buffer []byte) (bool, error) {
	if open, err := c.flush(); !open || len(c.pending) > 0 {
		return open, err
	}
	for range 1 << 16 { // bounded: a client cannot hold the loop forever
		received, err := sys.Recv(c.fd, buffer, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if received == 0 {
			return false, nil
		}
		sent, err := sys.Send(c.fd, buffer[:received], unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			sent, err = 0, nil
		}
		if err != nil {
			return false, err
		}
		if sent < received {
			c.pending = append(c.pending[:0], buffer[sent:received]...)
			return true, nil // wait for EPOLLOUT
		}
	}
	return true, nil
}

func serveEpollLoop(listenfd int, ep *poll.Epoll, spare *reserve, cfg Config) error {
	log := newLogger(cfg)
	buffer := make([]byte, EpollBufSize)
	var clients []econn // by descriptor
	defer func() {
		for i := range clients {
			if clients[i].open {
				clients[i].close(log, nil)
			}
		}
	}()
	idle := idleSweep{limit: cfg.Idle}
	for {
		events, err := ep.Wait(idle.timeout())
		if err != nil {
			return fmt.Errorf("Failed to wait for events: %w", err)
		}
		now := time.Now()
		for _, ev := range events {
			fd := int(ev.Fd)
			if fd == listenfd {
				for range Backlog {
					var echoclient sys.SockaddrIn
					clientsock, err := spare.accept(listenfd, &echoclient)
					if errors.Is(err, unix.EAGAIN) {
						break
					}
					if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
						continue
					}
					if errors.Is(err, unix.EINVAL) {
						return nil // the stop shut the listening socket down (EPOLLHUP)
					}
					if err != nil {
						return fmt.Errorf("Failed to accept client connection: %w", err)
					}
					log.connected(&echoclient)
					if err := sys.SetNonblock(clientsock, true); err == nil {
						err = ep.Add(clientsock, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET)
					}
					if err != nil {
						report(log, &echoclient, err)
						sys.Close(clientsock)
						continue
					}
					for len(clients) <= clientsock {
						clients = append(clients, econn{})
					}
					clients[clientsock].accepted(clientsock, &echoclient, now)
				}
			} else if fd < len(clients) && clients[fd].open {
				c := &clients[fd]
				c.last = now
				if open, err := c.serve(buffer); !open {
					c.close(log, err)
				}
			}
		}
		idle.sweep(clients, now, log)
	}
}

// idleSweep is Config.Idle in an epoll loop: the wait times out every
// Idle/4, and at most that often the loop closes the clients silent for
// Idle. With no limit the wait has no timeout, as in C.
type idleSweep struct {
	limit time.Duration
	last  time.Time
}

func (s *idleSweep) timeout() time.Duration {
	if s.limit <= 0 {
		return -1
	}
	return s.limit / 4
}

func (s *idleSweep) sweep(clients []econn, now time.Time, log *logger) {
	if s.limit <= 0 || now.Sub(s.last) < s.limit/4 {
		return
	}
	s.last = now
	for i := range clients {
		if c := &clients[i]; c.open && now.Sub(c.last) >= s.limit {
			c.close(log, errIdle)
		}
	}
}

package tcp

import (
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
//	N x { socket -> setsockopt(SO_REUSEPORT) -> bind -> listen(20) -> fcntl(O_NONBLOCK) ->
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
// Differences from the C twin, from Go itself: loops are goroutines, not
// pthreads; each loop also watches the Stop's wake descriptor, where C
// leaves epoll_wait with EINTR; Config.Idle closes silent clients (off by
// default); the reserve descriptor of echo.go at RLIMIT_NOFILE. Nothing is
// allocated per message.

// EpollBufSize is the size of each loop's read buffer.
const EpollBufSize = 16 << 10

// ListenReusePort creates n listening sockets bound to port with
// SO_REUSEPORT; with port 0 the first one picks the port and the others
// join it. It returns the sockets and the bound port.
func ListenReusePort(port, n int) ([]int, int, error) {
	var fds []int
	for i := range max(n, 1) {
		fd, bound, err := listen(port, true)
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

// ServeEpoll runs one event loop per listening socket until st is stopped;
// then every loop closes its clients and ServeEpoll returns nil, or the
// first loop's error. Every loop's epoll instance is made before any loop
// starts, so that a loop's clients cannot use up the descriptors another
// loop needs. It sets the sockets non-blocking and does not close them.
func ServeEpoll(listenfds []int, st *Stop, cfg Config) error {
	var eps []*poll.Epoll
	defer func() {
		for _, ep := range eps {
			ep.Close()
		}
	}()
	for _, fd := range listenfds {
		if !st.serving(fd) {
			return nil
		}
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
		if err := ep.Add(st.wake.Fd(), unix.EPOLLIN); err != nil {
			return fmt.Errorf("Failed to watch the stop descriptor: %w", err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(listenfds))
	var logMu sync.Mutex
	for i, fd := range listenfds {
		spare := newReserve()
		wg.Go(func() {
			defer spare.close()
			errs[i] = serveEpollLoop(fd, eps[i], &spare, st, cfg, &logMu)
			if errs[i] != nil {
				st.Stop() // one loop failed: stop the others
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// econn is one client of an epoll loop.
type econn struct {
	fd      int
	addr    sys.SockaddrIn
	pending []byte // bytes the socket did not take; capacity kept for reuse
	last    time.Time
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

func serveEpollLoop(listenfd int, ep *poll.Epoll, spare *reserve, st *Stop, cfg Config, logMu *sync.Mutex) error {
	log := newLogger(cfg)
	buffer := make([]byte, EpollBufSize)
	var clients []*econn // by descriptor
	var free []*econn
	drop := func(c *econn, err error) {
		if err != nil {
			logMu.Lock()
			report(log, &c.addr, err)
			logMu.Unlock()
		}
		clients[c.fd] = nil
		sys.Close(c.fd) // also removes it from the epoll set
		free = append(free, c)
	}
	defer func() {
		for _, c := range clients {
			if c != nil {
				drop(c, nil)
			}
		}
	}()
	var now, lastScan time.Time
	for {
		timeout := time.Duration(-1)
		if cfg.Idle > 0 {
			timeout = cfg.Idle / 4
		}
		events, err := ep.Wait(timeout)
		if err != nil {
			return fmt.Errorf("Failed to wait for events: %w", err)
		}
		if cfg.Idle > 0 {
			now = time.Now()
		}
		for _, ev := range events {
			fd := int(ev.Fd)
			switch {
			case fd == st.wake.Fd():
				return nil
			case fd == listenfd:
				for range Backlog {
					var addr sys.SockaddrIn
					clientsock, err := spare.accept(listenfd, &addr)
					if errors.Is(err, unix.EAGAIN) {
						break
					}
					if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
						continue
					}
					if err != nil && st.Stopped() {
						return nil // shutdown by Stop, before the wake event was seen
					}
					if err != nil {
						return fmt.Errorf("Failed to accept client connection: %w", err)
					}
					if !log.quiet {
						logMu.Lock()
						log.connected(&addr)
						logMu.Unlock()
					}
					if err := sys.SetNonblock(clientsock, true); err == nil {
						err = ep.Add(clientsock, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET)
					}
					if err != nil {
						logMu.Lock()
						report(log, &addr, err)
						logMu.Unlock()
						sys.Close(clientsock)
						continue
					}
					for len(clients) <= clientsock {
						clients = append(clients, nil)
					}
					var c *econn
					if n := len(free); n > 0 {
						c, free = free[n-1], free[:n-1]
					} else {
						c = new(econn)
					}
					c.fd, c.addr, c.pending, c.last = clientsock, addr, c.pending[:0], now
					clients[clientsock] = c
				}
			case fd < len(clients) && clients[fd] != nil:
				c := clients[fd]
				c.last = now
				if open, err := c.serve(buffer); !open {
					drop(c, err)
				}
			}
		}
		if cfg.Idle > 0 && now.Sub(lastScan) >= cfg.Idle/4 {
			lastScan = now
			for _, c := range clients {
				if c != nil && now.Sub(c.last) >= cfg.Idle {
					drop(c, unix.EAGAIN) // reported as idle
				}
			}
		}
		if st.Stopped() {
			return nil
		}
	}
}

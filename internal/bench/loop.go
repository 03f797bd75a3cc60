package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// loop is the event loop both benches share: one epoll instance watching
// every socket and a Wake that the context's cancellation rings.
type loop struct {
	meter
	cfg  Config
	ep   *poll.Epoll
	wake *poll.Wake
	fds  []int   // every socket, closed by close
	byFd []int32 // descriptor -> connection index + 1
}

// open creates the epoll instance and the wake descriptor.
func (l *loop) open(cfg Config) error {
	l.cfg, l.meter = cfg, newMeter()
	var err error
	if l.ep, err = poll.NewEpoll(unix.EPOLL_CLOEXEC, min(cfg.Conns+1, 1024)); err != nil {
		return err
	}
	if l.wake, err = poll.NewWake(); err != nil {
		return err
	}
	return l.ep.Add(l.wake.Fd(), unix.EPOLLIN)
}

// ConnectTimeout bounds each connect: a server whose backlog is full
// drops the handshake, and the kernel's SYN retries would otherwise hold
// the bench (and a Ctrl-C) for two minutes.
const ConnectTimeout = 3 * time.Second

// dial opens connection i: socket, connect (blocking, for at most
// ConnectTimeout: on loopback it returns at once, and a refused TCP
// connection says so here), and registration with epoll for EPOLLIN. It
// gives up at once when ctx is done.
func (l *loop) dial(ctx context.Context, i, typ int) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	fd, err := sys.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	l.fds = append(l.fds, fd)
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, ConnectTimeout); err != nil {
		return -1, err
	}
	to := sys.NewSockaddrIn(l.cfg.Server, l.cfg.Port)
	err = sys.Connect(fd, &to)
	if ctx.Err() != nil { // a signal came while it waited
		return -1, ctx.Err()
	}
	if errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.ETIMEDOUT) {
		return -1, fmt.Errorf("no answer to the handshake within %v (the server's listen backlog is full, or nothing answers)", ConnectTimeout)
	} else if err != nil {
		return -1, err
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, 0); err != nil {
		return -1, err
	}
	for len(l.byFd) <= fd {
		l.byFd = append(l.byFd, 0)
	}
	l.byFd[fd] = int32(i + 1)
	return fd, l.ep.Add(fd, unix.EPOLLIN)
}

func (l *loop) close() {
	for _, fd := range l.fds {
		sys.Close(fd)
	}
	if l.wake != nil {
		l.wake.Close()
	}
	if l.ep != nil {
		l.ep.Close()
	}
}

// conn returns the connection index of a ready descriptor, -1 for the wake.
func (l *loop) conn(fd int32) int {
	if int(fd) == l.wake.Fd() {
		l.wake.Drain()
		l.stop(l.now()) // the context is done
		return -1
	}
	return int(l.byFd[fd]) - 1
}

// canSend reports how many more messages the run may send now.
func (l *loop) canSend(now int64) int64 {
	if !l.stopping && now >= int64(l.cfg.Duration) {
		l.stop(now)
	}
	if l.stopping {
		return 0
	}
	if l.cfg.Count == 0 {
		return 1 << 62
	}
	if left := l.cfg.Count - l.sent; left > 0 {
		return left
	}
	l.stop(now)
	return 0
}

// wait waits for events until at most the time until (ns since base), or
// the end of the sending period.
func (l *loop) wait(now, until int64) ([]sys.EpollEvent, error) {
	if !l.stopping {
		until = min(until, int64(l.cfg.Duration))
	}
	return l.ep.Wait(time.Duration(max(until-now, 0)))
}

// run starts the clock, lets ctx's cancellation stop the sending, and calls
// step until it reports the run done or fails.
func (l *loop) run(ctx context.Context, start func(now int64) error, step func() (bool, error)) error {
	stop := context.AfterFunc(ctx, func() { l.wake.Wake() })
	defer stop()
	l.base = time.Now()
	if err := start(0); err != nil {
		return err
	}
	for {
		done, err := step()
		if done || err != nil {
			return err
		}
	}
}

package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// What every server shares: the listening socket, the echo loop of the
// blocking models (Stevens' str_echo with writen), the stop on a
// context; the reserve descriptor that keeps a server alive at
// RLIMIT_NOFILE is in reserve.go.

// Backlog is the tutorial's listen(20), which the one-at-a-time server and
// the faithful select keep. The models built to scale listen with the
// kernel's cap instead (Somaxconn), as Go's net package does: a burst of
// a few hundred connections overflows 20 at once, and each handshake the
// kernel drops costs its client a SYN retransmission, one second and more.
// The select, poll and epoll loops also accept at most Backlog clients a
// wakeup, so that one burst cannot starve the clients already connected.
const Backlog = 20

// Somaxconn returns the kernel's cap on a listen backlog,
// /proc/sys/net/core/somaxconn, or 4096 (its default since Linux 5.4)
// when that cannot be read.
func Somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 1 {
		return 4096
	}
	return n
}

// BufSize is the tutorial's recv(32).
const BufSize = 32

// Config configures every Serve function.
type Config struct {
	Log   io.Writer     // "Client connected: <ip>" lines and reports; nil discards
	Quiet bool          // no "Client connected" lines; reports still go to Log
	Idle  time.Duration // close a connection silent this long; 0 never (the C default)

	// MaxClients caps the clients the select and thread servers serve at
	// once; they refuse those beyond (select always refuses those whose
	// descriptor it cannot watch). 0 means FD_SETSIZE for select and
	// DefaultMaxThreads for thread.
	MaxClients int

	// MaxChildren caps the children of the fork server; it refuses
	// clients while that many live, counting the refusals on Log. 0 means
	// DefaultMaxChildren.
	MaxChildren int

	// Clients is how many connections the faithful select server waits
	// for before it selects; 0 means the tutorial's 20.
	Clients int
}

func (c Config) log() io.Writer {
	if c.Log == nil {
		return io.Discard
	}
	return c.Log
}

// Listen creates the server's TCP socket, binds it to INADDR_ANY:port and
// listens with the tutorial's backlog. It returns the socket and the bound
// port (found with getsockname when port is 0).
func Listen(port int) (fd, bound int, err error) {
	return ListenBacklog(port, Backlog)
}

// ListenBacklog is Listen with another backlog; the kernel cuts one above
// Somaxconn down to it.
func ListenBacklog(port, backlog int) (fd, bound int, err error) {
	return listen(port, false, backlog)
}

func listen(port int, reuseport bool, backlog int) (fd, bound int, err error) {
	serversock, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return -1, 0, fmt.Errorf("Failed to create socket: %w", err)
	}
	if reuseport {
		if err := sys.SetsockoptInt(serversock, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			sys.Close(serversock)
			return -1, 0, fmt.Errorf("Failed to set SO_REUSEPORT: %w", err)
		}
	}
	echoserver := sys.NewSockaddrIn([4]byte{}, port) // INADDR_ANY
	if err := sys.Bind(serversock, &echoserver); err != nil {
		sys.Close(serversock)
		return -1, 0, fmt.Errorf("Failed to bind server socket: %w", err)
	}
	if err := sys.Listen(serversock, backlog); err != nil {
		sys.Close(serversock)
		return -1, 0, fmt.Errorf("Failed to listen on server socket: %w", err)
	}
	if port == 0 {
		n := sys.SizeofSockaddrIn
		if err := sys.Getsockname(serversock, &echoserver, &n); err != nil {
			sys.Close(serversock)
			return -1, 0, fmt.Errorf("Failed to get socket name: %w", err)
		}
	}
	return serversock, echoserver.PortOf(), nil
}

// echo is Stevens' str_echo on a blocking connected socket: recv up to 32
// bytes, send them all back, until EOF. It returns nil at EOF, and the
// error of a reset, a timeout (Idle) or a shutdown otherwise.
func echo(fd int, buffer []byte) error {
	for {
		received, err := sys.Recv(fd, buffer, 0)
		if err != nil {
			return fmt.Errorf("Failed to receive bytes from client: %w", err)
		}
		if received == 0 {
			return nil
		}
		if _, err := writen(fd, buffer[:received]); err != nil {
			return fmt.Errorf("Failed to send bytes to client: %w", err)
		}
	}
}

// writen is Stevens' writen: send until every byte is out. MSG_NOSIGNAL
// turns a reset peer into EPIPE instead of SIGPIPE.
func writen(fd int, p []byte) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := sys.Send(fd, p[sent:], unix.MSG_NOSIGNAL)
		if err != nil {
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

// setIdle arms SO_RCVTIMEO and SO_SNDTIMEO on a blocking connection, so
// that a silent client, or one that stops reading, releases its server.
func setIdle(fd int, idle time.Duration) error {
	if idle <= 0 {
		return nil
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, idle); err != nil {
		return err
	}
	return sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, idle)
}

// isIdle tells the error of an expired SO_RCVTIMEO or SO_SNDTIMEO.
func isIdle(err error) bool { return errors.Is(err, unix.EAGAIN) }

// logger writes "Client connected" lines without allocating.
type logger struct {
	w     io.Writer
	quiet bool
	line  []byte
}

func newLogger(cfg Config) *logger {
	return &logger{w: cfg.log(), quiet: cfg.Quiet, line: make([]byte, 0, 64)}
}

func (l *logger) connected(addr *sys.SockaddrIn) {
	if l.quiet {
		return
	}
	l.line = append(sys.AppendInetNtoa(append(l.line[:0], "Client connected: "...), addr.Addr), '\n')
	l.w.Write(l.line)
}

// Every raw Serve function runs until its context is done, then stops the
// way the kernel allows and the C twins do: shutdown(SHUT_RDWR) wakes a
// thread blocked in accept or recv on the socket (close does not), and an
// event loop's select, poll or epoll_wait reports the shut-down listening
// socket, whose accept then fails with EINVAL. The C twins make the same
// shutdown in their SIGTERM handler; the Go programs make it when the
// signal cancels the context. The context may be done before, during or
// after the Serve call.

// stopper is one Serve call's stop: the listening sockets it shuts down
// when the context is done, and the connections of the blocking models.
type stopper struct {
	mu     sync.Mutex
	done   bool
	listen []int            // listening sockets to shut down
	conns  map[int]struct{} // connected sockets of the blocking models
}

// stopOn returns the stopper of a Serve call on listenfds, and the
// release that its caller defers.
//
// It also sleeps a nanosecond, which makes Go's runtime create its own
// epoll instance and eventfd now: the runtime does so lazily, at the first
// timer or sleep, and dies ("netpollinit failed") if the process is out of
// descriptors then, as a server at RLIMIT_NOFILE is.
func stopOn(ctx context.Context, listenfds ...int) (*stopper, func() bool) {
	time.Sleep(time.Nanosecond)
	st := &stopper{listen: listenfds, conns: make(map[int]struct{})}
	return st, context.AfterFunc(ctx, st.stop)
}

// stop shuts down the listening sockets and the tracked connections, once.
func (s *stopper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	for _, fd := range s.listen {
		sys.Shutdown(fd, unix.SHUT_RDWR)
	}
	for fd := range s.conns {
		sys.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// stopped reports whether stop has run.
func (s *stopper) stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// track registers a connection for stop to shut down; false means stop
// came first and the caller should close it.
func (s *stopper) track(fd int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.conns[fd] = struct{}{}
	return true
}

// closeConn unregisters and closes a connection in one step, so that
// stop never shuts down a descriptor number the kernel has handed out
// again.
func (s *stopper) closeConn(fd int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, fd)
	sys.Close(fd)
}

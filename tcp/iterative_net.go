package tcp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// One-at-a-time TCP echo server on the net package, the twin of
// iterative.go with the same steps: ListenNet is socket+bind+listen,
// ServeIterativeNet accepts and echoes one connection at a time, 32 bytes
// a read, Write sending everything.
//
// What the net package does differently underneath (socklab compare shows
// it): sockets are SOCK_NONBLOCK|SOCK_CLOEXEC with SO_REUSEADDR set, the
// backlog is the kernel's somaxconn instead of 20, accept is accept4 with
// flags, reads and writes that would block park the goroutine in the
// runtime's epoll_pwait, and writes are write(2), which raises no SIGPIPE
// in a Go program (the runtime ignores it for descriptors other than 1
// and 2). Closing the listener and the connection, not shutdown, wakes
// them; Idle is a read and write deadline.

// ListenNet listens on port on every IPv4 address. It returns the
// listener and the bound port.
func ListenNet(port int) (*net.TCPListener, int, error) {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{Port: port})
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se // "bind: address already in use", as the raw server says
		}
		return nil, 0, fmt.Errorf("Failed to bind server socket: %w", err)
	}
	return l, l.Addr().(*net.TCPAddr).Port, nil
}

// conns is the set of open connections a net server closes when it stops.
type conns struct {
	mu     sync.Mutex
	closed bool
	m      map[net.Conn]struct{}
}

func (c *conns) add(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.m == nil {
		c.m = make(map[net.Conn]struct{})
	}
	c.m[conn] = struct{}{}
	return true
}

func (c *conns) remove(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, conn)
	conn.Close()
}

func (c *conns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.m {
		conn.Close()
	}
}

// ServeIterativeNet serves one connection at a time until l is closed;
// then it closes the connection being served and returns nil.
func ServeIterativeNet(l *net.TCPListener, cfg Config) error {
	w := cfg.log()
	var open conns
	defer open.closeAll()
	for {
		conn, err := l.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if backoff(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Failed to accept client connection: %w", err)
		}
		if !cfg.Quiet {
			fmt.Fprintf(w, "Client connected: %s\n", conn.RemoteAddr().(*net.TCPAddr).IP)
		}
		if !open.add(conn) {
			conn.Close()
			return nil
		}
		echoNet(conn, w, cfg.Idle)
		open.remove(conn)
	}
}

// backoff reports an accept error to try again after: an aborted
// connection, or no descriptor left, after which it waits 10 ms instead of
// spinning.
func backoff(err error) bool {
	if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ECONNABORTED) {
		time.Sleep(10 * time.Millisecond)
		return true
	}
	return false
}

// echoNet is str_echo on a net.Conn: read up to 32 bytes, write them all.
func echoNet(conn *net.TCPConn, w io.Writer, idle time.Duration) {
	buffer := make([]byte, BufSize)
	for {
		if idle > 0 {
			conn.SetDeadline(time.Now().Add(idle))
		}
		received, err := conn.Read(buffer)
		if received > 0 {
			if _, werr := conn.Write(buffer[:received]); werr != nil {
				err = werr
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		case errors.Is(err, os.ErrDeadlineExceeded):
			fmt.Fprintf(w, "Closed idle client %s\n", conn.RemoteAddr())
		default:
			fmt.Fprintf(w, "Client %s: %v\n", conn.RemoteAddr(), err)
		}
		return
	}
}

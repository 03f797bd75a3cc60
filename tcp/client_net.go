package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// TCP echo client on the net package, the twin of client.go with the same
// steps and checks. Like the tutorial's Python clients, and unlike the raw
// and C clients, it resolves host names ("localhost"), with Go's own
// resolver (never libc's getaddrinfo, which may open a netlink socket).
//
// Underneath, the net package creates the socket SOCK_NONBLOCK|SOCK_CLOEXEC,
// its connect returns EINPROGRESS and the goroutine waits in the runtime's
// epoll for the connection; writes are write(2) and reads read(2); the
// timeout is a deadline, not SO_RCVTIMEO, and the dialer's timeout for the
// connect, reported as the raw client reports its own.

// RequestNet connects to host:port, sends word and returns the echo.
func RequestNet(host string, port int, word string, cfg ClientConfig) (string, error) {
	conn, err := dialNet(host, port, cfg.Timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if cfg.Timeout > 0 {
		conn.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	if _, err := conn.Write([]byte(word)); err != nil {
		return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
	}
	reply := make([]byte, len(word))
	n, err := io.ReadFull(conn, reply)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return string(reply[:n]), fmt.Errorf("%w: %d of %d", ErrShortEcho, n, len(word))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return string(reply[:n]), fmt.Errorf("Failed to receive bytes from server: no reply within %v after %d of %d bytes", cfg.Timeout, n, len(word))
	case err != nil:
		return string(reply[:n]), fmt.Errorf("Failed to receive bytes from server: %w", err)
	}
	return string(reply), nil
}

// dialNet resolves host with Go's resolver and connects to it.
func dialNet(host string, port int, timeout time.Duration) (*net.TCPConn, error) {
	resolver := &net.Resolver{PreferGo: true}
	d := net.Dialer{Resolver: resolver, Timeout: timeout}
	conn, err := d.DialContext(context.Background(), "tcp4", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		var se *os.SyscallError
		var dnse *net.DNSError
		var ne net.Error
		switch {
		case errors.As(err, &se):
			err = se // "connect: connection refused", as the raw client says
		case timeout > 0 && !errors.As(err, &dnse) && errors.As(err, &ne) && ne.Timeout():
			err = connectTimedOut(timeout) // for "i/o timeout", as the raw client says
		}
		return nil, fmt.Errorf("Failed to connect with server: %w", err)
	}
	return conn.(*net.TCPConn), nil
}

package tcp

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Raw TCP echo client, the Go mirror of testdata/client.c (the TCP echo
// client of the series' Part 1):
//
//	socket -> connect -> send the word (all of it) -> recv 32 at a time
//	until as many bytes came back -> close
//
// Shared with the C twin: the server must be a dotted quad (no name
// lookup); send passes MSG_NOSIGNAL and loops (writen); a server that
// closes early is an error naming how many bytes came back.
//
// Addition of the Go version only, off by default so that the default
// path makes exactly the C twin's calls: Timeout > 0 sets SO_RCVTIMEO and
// SO_SNDTIMEO (two setsockopt calls after socket). SO_SNDTIMEO bounds the
// connect too, which then fails with EINPROGRESS (socket(7)), the
// handshake left to go on; the client reports that as ETIMEDOUT after
// the timeout (connectFailed).

// ClientConfig configures Request and RequestNet.
type ClientConfig struct {
	Timeout time.Duration // for the connect and each send and recv; 0 waits forever
}

// ErrShortEcho is returned when the server closed before echoing every byte.
var ErrShortEcho = errors.New("server closed before echoing every byte")

// Request connects to server:port, sends word and returns the echo: as
// many bytes as word has.
func Request(server [4]byte, port int, word string, cfg ClientConfig) (string, error) {
	echoserver := sys.NewSockaddrIn(server, port)
	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return "", fmt.Errorf("Failed to create socket: %w", err)
	}
	defer sys.Close(sock)
	if err := setIdle(sock, cfg.Timeout); err != nil {
		return "", fmt.Errorf("Failed to set the timeout: %w", err)
	}
	start := time.Now()
	if err := sys.Connect(sock, &echoserver); err != nil {
		return "", connectFailed(err, cfg.Timeout, time.Since(start))
	}
	message := []byte(word)
	if _, err := writen(sock, message); err != nil {
		return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
	}
	reply := make([]byte, 0, len(message))
	buffer := make([]byte, BufSize)
	for len(reply) < len(message) {
		bytes, err := sys.Recv(sock, buffer[:min(BufSize, len(message)-len(reply))], 0)
		if isIdle(err) {
			return string(reply), fmt.Errorf("Failed to receive bytes from server: no reply within %v after %d of %d bytes", cfg.Timeout, len(reply), len(message))
		}
		if err != nil {
			return string(reply), fmt.Errorf("Failed to receive bytes from server: %w", err)
		}
		if bytes == 0 {
			return string(reply), fmt.Errorf("%w: %d of %d", ErrShortEcho, len(reply), len(message))
		}
		reply = append(reply, buffer[:bytes]...)
	}
	return string(reply), nil
}

// connectFailed is the error of a connect that took took. One that
// SO_SNDTIMEO cut short fails with EINPROGRESS, which reads as if nothing
// were wrong, or with ETIMEDOUT after Connect's own wait (a signal
// interrupted it); either is reported as ETIMEDOUT after the timeout. The
// kernel's own ETIMEDOUT, its SYNs unanswered, comes sooner than a
// timeout longer than its retransmissions and is left as it is.
func connectFailed(err error, timeout, took time.Duration) error {
	if timeout > 0 && (errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.ETIMEDOUT) && took >= timeout) {
		err = connectTimedOut(timeout)
	}
	return fmt.Errorf("Failed to connect with server: %w", err)
}

// connectTimedOut says "connection timed out after 1s", ETIMEDOUT from
// connect.
func connectTimedOut(timeout time.Duration) error {
	return fmt.Errorf("%w after %v", os.NewSyscallError("connect", unix.ETIMEDOUT), timeout)
}

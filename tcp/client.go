package tcp

import (
	"errors"
	"fmt"
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
// SO_SNDTIMEO (two setsockopt calls after socket).

// ClientConfig configures Request and RequestNet.
type ClientConfig struct {
	Timeout time.Duration // for each send and recv; 0 waits forever
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
	if err := sys.Connect(sock, &echoserver); err != nil {
		return "", fmt.Errorf("Failed to connect with server: %w", err)
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

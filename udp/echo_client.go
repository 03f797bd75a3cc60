package udp

import (
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Raw UDP echo client, the Go mirror of testdata/echo_client.c:
//
//	socket -> sendto(server) -> recvfrom -> check the sender -> close
//
// Differences from the tutorial's C program, shared with the C twin:
//   - the server must be a dotted quad (sys.InetAddr; no name lookup);
//   - a datagram from any address or port but the server's is reported and
//     ignored, and recvfrom is called again;
//   - recvfrom passes MSG_TRUNC, so a reply longer than the buffer is an
//     error instead of a silently cut string.
//
// Additions of the Go version only, both off by default so that the default
// path makes exactly the C twin's calls:
//   - Timeout > 0 sets SO_RCVTIMEO (one setsockopt after socket); a stray
//     datagram does not restart the clock (setsockopt again with what is
//     left);
//   - Retries N sends the word again after each timeout, N times.

// ClientConfig configures Request and RequestNet.
type ClientConfig struct {
	BufSize int           // receive buffer; the tutorial's BUFFSIZE is 255
	Timeout time.Duration // how long to wait for each reply; 0 waits forever
	Retries int           // sends after a timeout, with Timeout set
	Log     io.Writer     // reports of ignored datagrams; nil discards
}

// ErrNoReply is returned when every try timed out.
var ErrNoReply = errors.New("no reply")

// ErrTruncated is returned when the reply was longer than the buffer.
var ErrTruncated = errors.New("reply longer than the buffer")

// Request sends word to server:port from a new socket and returns the
// server's reply.
func Request(server [4]byte, port int, word string, cfg ClientConfig) (string, error) {
	w := EchoConfig{Log: cfg.Log}.log()
	buffer := make([]byte, EchoConfig{BufSize: cfg.BufSize}.bufSize())
	echoserver := sys.NewSockaddrIn(server, port)

	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		return "", fmt.Errorf("Failed to create socket: %w", err)
	}
	defer sys.Close(sock)
	if cfg.Timeout > 0 {
		if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, cfg.Timeout); err != nil {
			return "", fmt.Errorf("Failed to set the receive timeout: %w", err)
		}
	}
	message := []byte(word)
	for try := 0; ; try++ {
		sent, err := sys.Sendto(sock, message, 0, &echoserver)
		if err != nil {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
		}
		if sent != len(message) {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %d of %d", sent, len(message))
		}
		deadline := time.Now().Add(cfg.Timeout)
		var echoclient sys.SockaddrIn
		for {
			clientlen := sys.SizeofSockaddrIn
			received, err := sys.Recvfrom(sock, buffer, unix.MSG_TRUNC, &echoclient, &clientlen)
			if errors.Is(err, unix.EAGAIN) {
				break // SO_RCVTIMEO expired
			}
			if err != nil {
				return "", fmt.Errorf("Failed to receive message: %w", err)
			}
			if echoclient.Addr == echoserver.Addr && echoclient.Port == echoserver.Port {
				if received > len(buffer) {
					return "", fmt.Errorf("%w: %d bytes, buffer %d", ErrTruncated, received, len(buffer))
				}
				return string(buffer[:received]), nil
			}
			fmt.Fprintf(w, "Ignored a datagram from unexpected %s\n", echoclient.String())
			if cfg.Timeout > 0 {
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, left); err != nil {
					return "", fmt.Errorf("Failed to set the receive timeout: %w", err)
				}
			}
		}
		if try >= cfg.Retries {
			return "", fmt.Errorf("%w from %s after %d tries of %v", ErrNoReply, echoserver.String(), try+1, cfg.Timeout)
		}
		if cfg.Timeout > 0 { // the next try waits the full timeout again
			if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, cfg.Timeout); err != nil {
				return "", fmt.Errorf("Failed to set the receive timeout: %w", err)
			}
		}
	}
}

package udp

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Raw UDP echo server, the Go mirror of testdata/echo_server.c:
//
//	socket -> bind(INADDR_ANY:port) -> loop { recvfrom -> report -> sendto }
//
// Differences from the tutorial's C program, all shared with the C twin:
//   - recvfrom passes MSG_TRUNC, so it returns a datagram's real length and
//     a datagram longer than the buffer is reported and not echoed.
//   - port 0 is allowed; the chosen port is reported after getsockname.
//   - sendto passes MSG_DONTWAIT: when the socket's send buffer is full the
//     reply is dropped and reported, as the network itself drops datagrams,
//     instead of stalling every other client behind one; a failed or short
//     sendto is reported and the loop goes on (the tutorial dies, which lets
//     one bad datagram stop the server).
//   - the echo-loop guard (guard.go) drops, counts and reports a datagram
//     from a reserved port, the server's own port or a source that cannot
//     be a client, which the tutorial's server would echo for ever.
//
// Differences from the C twin, from Go itself:
//   - a C signal handler interrupts the blocked recvfrom (EINTR) and shuts
//     the socket down for reading, lest a signal caught just before the
//     call be lost; a Go signal reaches a Go thread, not the blocked one,
//     so Stop makes the same shutdown(SHUT_RD), which wakes recvfrom with
//     0 bytes and no sender. Both traces show it before the final close.

// EchoConfig configures Echo, EchoNet and EchoBatch.
type EchoConfig struct {
	BufSize int       // receive buffer; the tutorial's BUFFSIZE is 255
	Batch   int       // datagrams a call, for EchoBatch only
	Log     io.Writer // "Client connected" lines and reports; nil discards
	Quiet   bool      // no "Client connected" lines; reports still go to Log
	Guard   LoopGuard // the echo-loop guard (guard.go)
	// Done, once closed, ends Echo's and EchoBatch's loop after the
	// datagrams in hand, as the C twin's handler sets its stop flag; Stop
	// wakes a blocked recvfrom. With Done nil the loop ends once Stop has
	// been called and no datagram is queued, which a flood never allows.
	Done <-chan struct{}
}

// stopping reports whether done is closed: the C twins' while (!stop).
func stopping(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// DefaultBufSize is the tutorial's BUFFSIZE.
const DefaultBufSize = 255

// MaxBufSize is the largest UDP payload over IPv4: 65535 - 20 - 8.
const MaxBufSize = 65507

func (c EchoConfig) log() io.Writer {
	if c.Log == nil {
		return io.Discard
	}
	return c.Log
}

func (c EchoConfig) bufSize() int {
	if c.BufSize <= 0 {
		return DefaultBufSize
	}
	return c.BufSize
}

// Listen creates the server's UDP socket and binds it to INADDR_ANY:port,
// as the C program does before its loop. It returns the socket and the
// bound port (the chosen one when port is 0, found with getsockname).
func Listen(port int) (fd, bound int, err error) {
	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		return -1, 0, fmt.Errorf("Failed to create socket: %w", err)
	}
	echoserver := sys.NewSockaddrIn([4]byte{}, port) // INADDR_ANY
	if err := sys.Bind(sock, &echoserver); err != nil {
		sys.Close(sock)
		return -1, 0, fmt.Errorf("Failed to bind server socket: %w", err)
	}
	if port == 0 {
		serverlen := sys.SizeofSockaddrIn
		if err := sys.Getsockname(sock, &echoserver, &serverlen); err != nil {
			sys.Close(sock)
			return -1, 0, fmt.Errorf("Failed to get socket name: %w", err)
		}
	}
	return sock, echoserver.PortOf(), nil
}

// Echo is the server's loop (Stevens' dg_echo): it receives a datagram,
// reports the client and sends the datagram back, until Stop is called on
// fd; then it returns nil. It does not close fd. It allocates nothing per
// datagram.
func Echo(fd int, cfg EchoConfig) error {
	w := cfg.log()
	buffer := make([]byte, cfg.bufSize())
	line := make([]byte, 0, 64) // "Client connected" without allocating
	var echoclient sys.SockaddrIn
	guard := newGuard(cfg.Guard, w)
	defer guard.flush()
	for !stopping(cfg.Done) {
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC, &echoclient, &clientlen)
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if received == 0 && clientlen == 0 {
			return nil // shut down by Stop: no datagram, no sender
		}
		if received > len(buffer) {
			fmt.Fprintf(w, "Datagram from %s truncated: %d bytes, buffer %d; not echoed\n",
				echoclient.String(), received, len(buffer))
			continue
		}
		if guard.refuses(echoclient.Addr, echoclient.PortOf()) {
			continue // the loop guard (guard.go)
		}
		if !cfg.Quiet {
			line = append(sys.AppendInetNtoa(append(line[:0], "Client connected: "...), echoclient.Addr), '\n')
			w.Write(line)
		}
		sent, err := sys.Sendto(fd, buffer[:received], unix.MSG_DONTWAIT, &echoclient)
		if err != nil || sent != received {
			fmt.Fprintf(w, "Mismatch in number of echo'd bytes: %d of %d to %s: %v\n",
				sent, received, echoclient.String(), err)
		}
	}
	return nil // Done
}

// Stop stops a UDP server receiving on fd, as the C twins' signal handler
// does (testdata/common.h): shutdown(SHUT_RD), which wakes every recvfrom,
// recvmmsg and epoll_wait on the socket, in this process and in the
// children that share it, with no datagram from no sender. The socket can
// still send, so that the requests in progress of a lengthy server get
// their replies. The ENOTCONN that the kernel reports for an unconnected
// UDP socket (after waking the readers) is not an error.
func Stop(fd int) error {
	err := sys.Shutdown(fd, unix.SHUT_RD)
	if err != nil && !errors.Is(err, unix.ENOTCONN) {
		return err
	}
	return nil
}

package udp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Threaded lengthy-action server on the net package, the twin of
// lengthy_thread.go with the same steps: ReadMsgUDPAddrPort, a goroutine
// per request that sleeps, upper-cases and WriteToUDPAddrPort's.
//
// What differs underneath is what EchoNet's doc comment lists (non-blocking
// socket, the runtime's epoll, recvmsg). Stopping differs too: closing the
// conn would also fail the replies in progress, so StopLengthyNet sets a
// read deadline in the past, which wakes the reader and leaves the conn
// able to send.

// ServeThreadNet is ServeThread on a *net.UDPConn. It returns nil after
// StopLengthyNet (or Close) and after the requests in progress have been
// answered; it does not close conn.
func ServeThreadNet(conn *net.UDPConn, cfg LengthyConfig) error {
	w := &lockedWriter{w: cfg.log()}
	buffer := make([]byte, cfg.bufSize())
	bound := cfg.maxChildren()
	live := make(chan struct{}, bound)
	var wg sync.WaitGroup
	defer wg.Wait() // the threads in progress finish
	drops := 0
	guard := newGuard(cfg.Guard, w)
	defer guard.flush()
	for !cfg.stopping() {
		received, _, flags, client, err := conn.ReadMsgUDPAddrPort(buffer, nil)
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil // StopLengthyNet, or Close
		}
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			fmt.Fprintf(w, "Datagram from %s truncated: buffer %d; not answered\n", client, len(buffer))
			continue
		}
		if guard.refuses(client.Addr().Unmap().As4(), int(client.Port())) {
			continue // the loop guard (guard.go)
		}
		if !cfg.Quiet {
			fmt.Fprintf(w, "Client connected: %s\n", client.Addr().Unmap())
		}
		select {
		case live <- struct{}{}:
		default:
			drops++
			fmt.Fprintf(w, "Dropped a request from %s: %d in progress (--max-children %d); %d dropped so far\n",
				client, len(live), bound, drops)
			continue
		}
		// the thread's own copy; pthread_create(lengthy_action)
		msg := append([]byte(nil), buffer[:received]...)
		wg.Go(func() {
			defer func() { <-live }()
			time.Sleep(cfg.Delay) // lengthy_action
			ToUpper(msg)
			sent, err := conn.WriteToUDPAddrPort(msg, client)
			if err != nil || sent != len(msg) {
				fmt.Fprintf(w, "Mismatch in number of sent bytes: %d of %d to %s: %v\n", sent, len(msg), client, err)
			}
		})
	}
	return nil // Done
}

// StopLengthyNet stops ServeThreadNet on conn: a read deadline in the past
// wakes the blocked read, and the replies in progress can still be sent.
func StopLengthyNet(conn *net.UDPConn) error {
	return conn.SetReadDeadline(time.Unix(1, 0))
}

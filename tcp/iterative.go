package tcp

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// One-at-a-time TCP echo server, the Go mirror of testdata/iterative.c and
// of the tutorial's "traditional" server (section 6):
//
//	socket -> bind -> listen(20) -> loop { accept -> report -> str_echo(recv 32, send all) -> close }
//
// Differences from the tutorial's program, shared with the C twin:
//   - send passes MSG_NOSIGNAL and loops until every byte is out (Python's
//     sendall); a client's reset ends its connection, not the server;
//   - port 0 is allowed; the chosen port is reported after getsockname.
//
// Differences from the C twin, from Go itself:
//   - Both shut the listening socket down to stop (C in its signal
//     handler, Go when the context is done); C's recv gets EINTR, but a Go
//     signal reaches a Go thread, not the blocked one, so Go shuts the
//     connection being served down too. strace shows that shutdown.
//   - Config.Idle (off by default) sets SO_RCVTIMEO and SO_SNDTIMEO on each
//     connection: two setsockopt calls after accept.
//   - At RLIMIT_NOFILE a reserve descriptor (an eventfd, invisible to the
//     network trace) is given up to accept and close the waiting client;
//     a poll of the listening socket first tells whether one waits, and
//     waits for one if none does (reserve.go). strace shows that poll.

// ServeIterative serves one connection at a time on the listening socket
// listenfd until ctx is done; then it returns nil. It does not close
// listenfd.
func ServeIterative(ctx context.Context, listenfd int, cfg Config) error {
	st, release := stopOn(ctx, listenfd)
	defer release()
	log := newLogger(cfg)
	buffer := make([]byte, BufSize)
	spare := newReserve(blockingAccept)
	defer spare.close()
	var echoclient sys.SockaddrIn
	for {
		clientsock, err := spare.accept(listenfd, &echoclient)
		if st.stopped() {
			if err == nil {
				sys.Close(clientsock)
			}
			return nil
		}
		if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Failed to accept client connection: %w", err)
		}
		log.connected(&echoclient)
		if !st.track(clientsock) {
			sys.Close(clientsock)
			return nil
		}
		if err := setIdle(clientsock, cfg.Idle); err != nil {
			fmt.Fprintf(log.w, "Client %s: %v\n", echoclient.String(), err)
		} else if err := echo(clientsock, buffer); err != nil && !st.stopped() {
			report(log, &echoclient, err)
		}
		st.closeConn(clientsock)
	}
}

// report says why a connection ended early: an idle timeout or an error.
func report(log *logger, client *sys.SockaddrIn, err error) {
	if isIdle(err) {
		fmt.Fprintf(log.w, "Closed idle client %s\n", client.String())
		return
	}
	fmt.Fprintf(log.w, "Client %s: %v\n", client.String(), err)
}

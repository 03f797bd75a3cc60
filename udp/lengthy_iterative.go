package udp

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Iterative lengthy-action server, the Go mirror of
// testdata/lengthy_iterative.c and of the tutorial's first section 6
// server:
//
//	socket -> bind -> loop { recvfrom -> report -> sleep(delay) -> toupper -> sendto }
//
// One request at a time: twenty requests that arrive together take twenty
// delays (the tutorial measured 103.96 s for 20 x 5 s). The differences
// shared by every lengthy server are listed in lengthy.go; this one sleeps
// with time.Sleep, which parks the goroutine, where C calls nanosleep(2),
// and a blocked recvfrom is woken by Stop (no datagram from no
// sender), where C's fails with EINTR. Both check their stop (Done, C's
// flag) before each recvfrom, so that a steady sender cannot keep a
// stopped server serving its queue.

// ServeIterative serves requests on fd one at a time until Stop is
// called on fd, then returns nil. It does not close fd. It allocates
// nothing per request.
func ServeIterative(fd int, cfg LengthyConfig) error {
	w := cfg.log()
	log := newReport(w, cfg)
	defer log.guard.flush()
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
	for !cfg.stopping() {
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(fd, buffer, unix.MSG_TRUNC, &client, &clientlen)
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if received == 0 && clientlen == 0 {
			return nil // Stop: no datagram, no sender
		}
		if received > len(buffer) {
			log.truncated(&client, received, len(buffer))
			continue
		}
		if log.guard.refuses(client.Addr, client.PortOf()) {
			continue // the loop guard (guard.go)
		}
		log.connected(&client)
		time.Sleep(cfg.Delay) // lengthy_action
		reply(fd, buffer[:received], &client, w)
	}
	return nil // Done
}

package udp

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Threaded lengthy-action server, the Go mirror of
// testdata/lengthy_thread.c (the tutorial's start_new_thread server):
//
//	socket -> bind -> loop { recvfrom -> report -> copy -> new thread { sleep -> toupper -> sendto } }
//
// Differences from the C twin, from Go itself:
//   - a goroutine stands for each pthread_create'd thread: the runtime
//     runs thousands of sleeping goroutines on a few threads, so strace
//     shows no clone per request (C shows clone3 or clone with
//     CLONE_THREAD);
//   - the request is copied into a new slice, as C copies it into a
//     malloc'd struct that the thread frees; the goroutine's closure is
//     the struct;
//   - the requests in progress are counted by a channel of MaxChildren
//     slots, where C counts them in an atomic int;
//   - the loop ends when recvfrom returns no datagram from no sender
//     (Stop), where C's ends on EINTR; ServeThread returns once
//     the goroutines in progress have replied, as C waits for its threads.

// ServeThread serves each request on fd in a goroutine of its own until
// Stop is called on fd; it returns nil after the requests in
// progress have been answered. It does not close fd.
func ServeThread(fd int, cfg LengthyConfig) error {
	w := &lockedWriter{w: cfg.log()}
	log := newReport(w, cfg)
	defer log.guard.flush()
	buffer := make([]byte, cfg.bufSize())
	var client sys.SockaddrIn
	bound := cfg.maxChildren()
	live := make(chan struct{}, bound)
	var wg sync.WaitGroup
	defer wg.Wait() // the threads in progress finish
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
		select {
		case live <- struct{}{}:
		default:
			log.dropped(&client, len(live), bound)
			continue
		}
		msg := append([]byte(nil), buffer[:received]...) // the thread's own copy
		to := client
		wg.Go(func() { // pthread_create(lengthy_action)
			defer func() { <-live }()
			lengthyAction(fd, msg, &to, cfg.Delay, w)
		})
	}
	return nil // Done
}

// lengthyAction is the tutorial's lengthy_action: sleep, then reply.
func lengthyAction(fd int, msg []byte, client *sys.SockaddrIn, delay time.Duration, w *lockedWriter) {
	time.Sleep(delay)
	reply(fd, msg, client, w)
}

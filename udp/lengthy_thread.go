package udp

import (
	"errors"
	"sync"
	"time"

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
//     the struct.
//
// Requests in progress are bounded by MaxChildren; StopLengthy ends the
// loop, and ServeThread returns once the goroutines in progress have
// replied.

// ServeThread serves each request on fd in a goroutine of its own until
// StopLengthy is called on fd; it returns nil after the requests in
// progress have been answered. It does not close fd.
func ServeThread(fd int, cfg LengthyConfig) error {
	w := &lockedWriter{w: cfg.log()}
	r := newReceiver(fd, cfg, w)
	bound := cfg.maxChildren()
	slots := make(chan struct{}, bound)
	var wg sync.WaitGroup
	defer wg.Wait()
	drops := 0
	for {
		request, err := r.recv()
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			return err
		}
		if request == nil {
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			r.dropped(&drops, len(slots), bound)
			continue
		}
		msg := append([]byte(nil), request...) // the thread's own copy
		client := r.client
		wg.Go(func() { // pthread_create(lengthy_action)
			defer func() { <-slots }()
			lengthyAction(fd, msg, &client, cfg.Delay, w)
		})
	}
}

// lengthyAction is the tutorial's lengthy_action: sleep, then reply.
func lengthyAction(fd int, msg []byte, client *sys.SockaddrIn, delay time.Duration, w *lockedWriter) {
	time.Sleep(delay)
	reply(fd, msg, client, w)
}

package udp

import (
	"errors"
	"time"
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
// with time.Sleep, which parks the goroutine, where C calls nanosleep(2).

// ServeIterative serves requests on fd one at a time until StopLengthy is
// called on fd, then returns nil. It does not close fd. It allocates
// nothing per request.
func ServeIterative(fd int, cfg LengthyConfig) error {
	w := cfg.log()
	r := newReceiver(fd, cfg, w)
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
		time.Sleep(cfg.Delay) // lengthy_action
		reply(fd, request, &r.client, w)
	}
}

package udp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// The forking server's exchange as the wire sees it: in a private network
// namespace, 20 clients each send one request and the forked children
// answer. Exactly 20 requests and 20 replies cross lo, each reply from the
// server's port to the port its request came from, carrying that request
// upper-cased.
func TestLengthyOnTheWire(t *testing.T) {
	const clients = 20
	var frames []capture.Frame
	var serverPort int
	err := netns.Do(func() error {
		fd, port, err := Listen(0)
		if err != nil {
			return err
		}
		defer sys.Close(fd)
		serverPort = port
		c, err := capture.Open("lo", capture.Filter{Proto: capture.UDP, Port: port})
		if err != nil {
			return err
		}
		defer c.Close()
		done := make(chan error, 1)
		go func() { done <- ServeFork(fd, LengthyConfig{Delay: 100 * time.Millisecond, Quiet: true}) }()

		// The clients' sockets are made here, on the namespace's thread.
		socks := make([]int, 0, clients)
		defer func() {
			for _, s := range socks {
				sys.Close(s)
			}
		}()
		to := sys.NewSockaddrIn(loopback, port)
		for n := range clients {
			s, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
			if err != nil {
				return err
			}
			socks = append(socks, s)
			if err := sys.SetsockoptTimeval(s, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second); err != nil {
				return err
			}
			if _, err := sys.Sendto(s, []byte(StressMessage("wire", n)), 0, &to); err != nil {
				return err
			}
		}
		var errs []error
		buf := make([]byte, 64)
		for n, s := range socks {
			got, err := sys.Recvfrom(s, buf, 0, nil, nil)
			if err != nil || string(buf[:got]) != strings.ToUpper(StressMessage("wire", n)) {
				errs = append(errs, fmt.Errorf("client %d: %q, %v", n, buf[:max(got, 0)], err))
			}
		}
		Stop(fd)
		if err := <-done; err != nil {
			return err
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		for range 2*clients + 1 { // one frame more than expected must not come
			f, err := c.Next(300 * time.Millisecond)
			if errors.Is(err, capture.ErrTimeout) {
				break
			}
			if err != nil {
				return err
			}
			frames = append(frames, f)
		}
		return nil
	})
	if errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN and CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	requests := map[int]string{} // client port -> request payload
	replies := 0
	for _, f := range frames {
		u, _ := f.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil {
			t.Fatalf("not a UDP frame: %v", f)
		}
		switch {
		case int(u.DstPort) == serverPort:
			requests[int(u.SrcPort)] = string(u.Payload)
		case int(u.SrcPort) == serverPort:
			replies++
			req, ok := requests[int(u.DstPort)]
			if !ok {
				t.Errorf("reply %q to port %d, which sent no request before it", u.Payload, u.DstPort)
			} else if string(u.Payload) != strings.ToUpper(req) {
				t.Errorf("reply %q to the request %q", u.Payload, req)
			}
		default:
			t.Errorf("frame on neither side of the server: %v", f)
		}
	}
	if len(requests) != clients || replies != clients || len(frames) != 2*clients {
		t.Errorf("captured %d frames: %d requests, %d replies; want %d of each", len(frames), len(requests), replies, clients)
	}
}

package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// tcpFaulty serves one connection: it hands each chunk it reads, with the
// stream offset of its first byte, to mangle and sends back what mangle
// returns; a nil return closes the connection.
func tcpFaulty(t *testing.T, mangle func(off int, p []byte) []byte) int {
	t.Helper()
	lfd, port, err := tcp.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fd, err := sys.Accept(lfd, nil, nil)
		if err != nil {
			return // shut down
		}
		defer sys.Close(fd)
		sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second)
		buf := make([]byte, 4096)
		for off := 0; ; {
			n, err := sys.Recv(fd, buf, 0)
			if err != nil || n == 0 {
				return
			}
			out := mangle(off, buf[:n])
			if out == nil {
				return
			}
			off += n
			if _, err := sys.Send(fd, out, unix.MSG_NOSIGNAL); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		sys.Shutdown(lfd, unix.SHUT_RDWR)
		<-done
		sys.Close(lfd)
	})
	return port
}

func TestTCPWrongEcho(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(off int, p []byte) []byte
		want   error
	}{
		{"flipped byte", func(off int, p []byte) []byte {
			if off <= 1000 && 1000 < off+len(p) {
				p[1000-off] ^= 4
			}
			return p
		}, ErrWrongEcho},
		{"extra byte", func(off int, p []byte) []byte {
			if off <= 1000 && 1000 < off+len(p) {
				return append(p, 'x')
			}
			return p
		}, ErrWrongEcho},
		{"closed early", func(off int, p []byte) []byte {
			if off+len(p) > 1000 {
				return nil
			}
			return p
		}, ErrServerClosed},
		{"stalled", func(off int, p []byte) []byte {
			if off+len(p) > 1000 {
				time.Sleep(400 * time.Millisecond)
			}
			return p
		}, ErrServerClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := tcpFaulty(t, tc.mangle)
			r, err := TCP(context.Background(), Config{Server: loopback, Port: port, Size: 100, Window: 4,
				Count: 100, Timeout: 200 * time.Millisecond})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if r.Received > 12 {
				t.Errorf("%d messages received intact, want at most 12", r.Received)
			}
			t.Log(err)
		})
	}
}

package sys

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A blocking connect that a signal interrupts (the socket has SO_SNDTIMEO,
// so even Go's SA_RESTART handlers make it return EINTR) still completes:
// Connect waits for the handshake instead of reporting EINTR.
func TestConnectInterrupted(t *testing.T) {
	lfd, err := Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	sa := NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := Bind(lfd, &sa); err != nil {
		t.Fatal(err)
	}
	if err := Listen(lfd, 0); err != nil { // a queue of one
		t.Fatal(err)
	}
	n := SizeofSockaddrIn
	if err := Getsockname(lfd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	dial := func() (int, error) {
		fd, err := Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			return -1, err
		}
		if err := SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, 5*time.Second); err != nil {
			Close(fd)
			return -1, err
		}
		return fd, Connect(fd, &sa)
	}
	// Fill the accept queue, so that the next handshake waits for the
	// SYN to be sent again (after a second), blocked in connect.
	var filled []int
	defer func() {
		for _, fd := range filled {
			Close(fd)
		}
	}()
	fd, err := dial() // listen(0): the queue holds one
	if err != nil {
		t.Fatalf("filling the queue: %v", err)
	}
	filled = append(filled, fd)

	tids := make(chan int, 1)
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		fd, err := dial()
		if fd >= 0 {
			Close(fd)
		}
		result <- err
	}()
	tid := <-tids
	time.Sleep(200 * time.Millisecond) // blocked in connect by now
	if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGURG); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	// Make room: the retransmitted SYN then completes the handshake.
	if fd, err := Accept(lfd, nil, nil); err == nil {
		Close(fd)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("interrupted connect: %v, want the handshake waited for", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect still blocked after 10 s")
	}
}

package sys

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// udpPair returns a UDP socket bound to 127.0.0.1 with a receive timeout,
// and its address.
func udpPair(t *testing.T) (int, SockaddrIn) {
	t.Helper()
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(fd) })
	sa := NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := Bind(fd, &sa); err != nil {
		t.Fatal(err)
	}
	n := SizeofSockaddrIn
	if err := Getsockname(fd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	if err := SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return fd, sa
}

// The child sleeps, upper-cases its own copy of the message, sends it and
// exits 0; the parent's buffer is untouched; WNOHANG sees the child
// running, then a blocking Wait4 reaps it.
func TestForkSendUpper(t *testing.T) {
	recv, to := udpPair(t)
	send, _ := udpPair(t)
	msg := []byte("hello, fork [1]")
	start := time.Now()
	pid, err := ForkSendUpper(send, msg, 0, &to, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != "hello, fork [1]" {
		t.Errorf("parent's buffer became %q: the child must work on its own copy", msg)
	}
	var status WaitStatus
	if got, err := Wait4(pid, &status, unix.WNOHANG, nil); got != 0 || err != nil {
		t.Errorf("Wait4(WNOHANG) on a sleeping child: %d, %v; want 0, nil", got, err)
	}
	buf := make([]byte, 64)
	n, err := Recvfrom(recv, buf, 0, nil, nil)
	if err != nil || string(buf[:n]) != "HELLO, FORK [1]" {
		t.Fatalf("child's datagram: %q, %v", buf[:max(n, 0)], err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("reply after %v, before the child's 200ms sleep", d)
	}
	if got, err := Wait4(pid, &status, 0, nil); got != pid || err != nil || !status.Exited() || status.ExitStatus() != 0 {
		t.Fatalf("Wait4: %d, %v, status %v; want the child, exited 0", got, err, status)
	}
	if _, err := Wait4(pid, &status, unix.WNOHANG, nil); !errors.Is(err, unix.ECHILD) {
		t.Errorf("Wait4 on a reaped child: %v, want ECHILD", err)
	}
}

// A failed sendto becomes the child's exit status: its errno.
func TestForkSendUpperFailure(t *testing.T) {
	_, to := udpPair(t)
	pid, err := ForkSendUpper(-1, []byte("x"), 0, &to, 0)
	if err != nil {
		t.Fatal(err)
	}
	var status WaitStatus
	if _, err := Wait4(pid, &status, 0, nil); err != nil {
		t.Fatal(err)
	}
	if !status.Exited() || unix.Errno(status.ExitStatus()) != unix.EBADF {
		t.Errorf("child status %v, want exited with EBADF (%d)", status, unix.EBADF)
	}
}

// epoll and timerfd together: a timer armed for 50ms makes epoll_wait
// return after about 50ms with the timer's fd; its expiration count is 1.
func TestEpollTimerfd(t *testing.T) {
	ep, err := EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ep)
	tfd, err := TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(tfd)
	events := make([]EpollEvent, 4)
	if err := EpollCtl(ep, unix.EPOLL_CTL_ADD, tfd, &EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n, err := EpollWait(ep, events, 20*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("unarmed timer: %d events, %v", n, err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("a 20ms epoll_wait returned after %v", d)
	}
	spec := NewItimerSpec(50 * time.Millisecond)
	start = time.Now()
	if err := TimerfdSettime(tfd, 0, &spec, nil); err != nil {
		t.Fatal(err)
	}
	var cur ItimerSpec
	if err := TimerfdGettime(tfd, &cur); err != nil || cur.Value.Nano() <= 0 {
		t.Errorf("armed timer: %v left, %v", cur.Value.Nano(), err)
	}
	n, err := EpollWait(ep, events, -1)
	if err != nil || n != 1 || int(events[0].Fd) != tfd {
		t.Fatalf("epoll_wait: %d, %v, %+v", n, err, events[0])
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 5*time.Second {
		t.Errorf("timer fired after %v, want 50ms", d)
	}
	var b [8]byte
	if n, err := Read(tfd, b[:]); n != 8 || err != nil || b[0] != 1 {
		t.Errorf("read(timerfd): %d, %v, %v; want 8 bytes holding 1", n, err, b)
	}
	if err := EpollCtl(ep, unix.EPOLL_CTL_DEL, tfd, nil); err != nil {
		t.Errorf("EPOLL_CTL_DEL: %v", err)
	}
	if err := EpollCtl(ep, unix.EPOLL_CTL_DEL, tfd, nil); !errors.Is(err, unix.ENOENT) || err.Error() != "epoll_ctl: no such file or directory" {
		t.Errorf("second EPOLL_CTL_DEL: %v, want epoll_ctl: ENOENT", err)
	}
}

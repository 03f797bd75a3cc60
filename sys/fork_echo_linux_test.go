package sys

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpConn returns a listening socket on 127.0.0.1, a client connected to
// it and the server's end of that connection, each with a 5 s timeout on
// the client side.
//
// The test process forks: every child gets a copy of every descriptor the
// test holds, the client's too. So the tests end a connection with
// shutdown(SHUT_WR), which acts on the socket, not with close, which would
// only drop the parent's copy.
func tcpConn(t *testing.T) (listenfd, client, connfd int) {
	t.Helper()
	open := func(typ int) int {
		fd, err := Socket(unix.AF_INET, typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Close(fd) })
		return fd
	}
	listenfd = open(unix.SOCK_STREAM)
	sa := NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := Bind(listenfd, &sa); err != nil {
		t.Fatal(err)
	}
	if err := Listen(listenfd, 1); err != nil {
		t.Fatal(err)
	}
	n := SizeofSockaddrIn
	if err := Getsockname(listenfd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	client = open(unix.SOCK_STREAM)
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := SetsockoptTimeval(client, unix.SOL_SOCKET, opt, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := Connect(client, &sa); err != nil {
		t.Fatal(err)
	}
	var peer SockaddrIn
	n = SizeofSockaddrIn
	connfd, err := Accept(listenfd, &peer, &n)
	if err != nil {
		t.Fatal(err)
	}
	return listenfd, client, connfd
}

// roundTrip sends msg on fd and reads back as many bytes.
func roundTrip(t *testing.T, fd int, msg []byte) {
	t.Helper()
	for sent := 0; sent < len(msg); {
		n, err := Send(fd, msg[sent:], unix.MSG_NOSIGNAL)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	got := make([]byte, len(msg))
	if n, err := Recv(fd, got, unix.MSG_WAITALL); n != len(msg) || err != nil {
		t.Fatalf("echo: %d of %d bytes, %v", max(n, 0), len(msg), err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %.40q, want %.40q", got, msg)
	}
}

// reap waits up to 5 s for pid and returns its status.
func reap(t *testing.T, pid int) WaitStatus {
	t.Helper()
	var status WaitStatus
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := Wait4(pid, &status, unix.WNOHANG, nil)
		if err != nil {
			t.Fatalf("Wait4(%d): %v", pid, err)
		}
		if got == pid {
			return status
		}
		if time.Now().After(deadline) {
			Kill(pid, unix.SIGKILL)
			Wait4(pid, &status, 0, nil)
			t.Fatalf("child %d still running after 5s", pid)
		}
	}
}

// The child closes the listening socket, echoes a short word and 1000
// bytes (in 32-byte pieces) from its own copy of the buffer, and at EOF
// closes the connection and exits 0; the parent's buffer is untouched.
func TestForkEcho(t *testing.T) {
	listenfd, client, connfd := tcpConn(t)
	buffer := make([]byte, 32)
	pid, err := ForkEcho(connfd, listenfd, buffer, unix.MSG_NOSIGNAL)
	Close(connfd) // parent closes the connected socket
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, client, []byte("hello"))
	big := make([]byte, 1000)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	roundTrip(t, client, big)
	if !bytes.Equal(buffer, make([]byte, 32)) {
		t.Errorf("parent's buffer became %q: the child must work on its own copy", buffer)
	}
	// The child has closed its copy of the listening socket and keeps
	// the connection (by now it has echoed, so the close came before).
	fds := "/proc/" + strconv.Itoa(pid) + "/fd/"
	if _, err := os.Readlink(fds + strconv.Itoa(listenfd)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("child's listening descriptor %d: %v, want it closed", listenfd, err)
	}
	if _, err := os.Readlink(fds + strconv.Itoa(connfd)); err != nil {
		t.Errorf("child's connection descriptor %d: %v, want it open", connfd, err)
	}
	if err := Shutdown(client, unix.SHUT_WR); err != nil { // EOF for the child
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := Recv(client, b[:], 0); n != 0 || err != nil {
		t.Errorf("after EOF: recv %d, %v; want EOF: the child closes the connection", n, err)
	}
	if st := reap(t, pid); !st.Exited() || st.ExitStatus() != 0 {
		t.Errorf("child status %v, want exited 0", st)
	}
}

// An expired SO_RCVTIMEO (set before the fork) ends the child with
// EAGAIN as its exit status, and the client sees the connection closed.
func TestForkEchoIdle(t *testing.T) {
	_, client, connfd := tcpConn(t)
	if err := SetsockoptTimeval(connfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	pid, err := ForkEcho(connfd, -1, make([]byte, 32), unix.MSG_NOSIGNAL)
	Close(connfd)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if n, err := Recv(client, b[:], 0); n != 0 || err != nil {
		t.Errorf("silent client: recv %d, %v; want EOF", n, err)
	}
	if st := reap(t, pid); !st.Exited() || unix.Errno(st.ExitStatus()) != unix.EAGAIN {
		t.Errorf("child status %v, want exited with EAGAIN (%d)", st, unix.EAGAIN)
	}
}

// A failed recv is the child's exit status: its errno.
func TestForkEchoFailure(t *testing.T) {
	pid, err := ForkEcho(-1, -1, make([]byte, 32), 0)
	if err != nil {
		t.Fatal(err)
	}
	if st := reap(t, pid); !st.Exited() || unix.Errno(st.ExitStatus()) != unix.EBADF {
		t.Errorf("child status %v, want exited with EBADF (%d)", st, unix.EBADF)
	}
	if _, err := ForkEcho(-1, -1, nil, 0); err == nil || err.Error() != "fork: invalid argument" {
		t.Errorf("empty buffer: %v, want fork: invalid argument", err)
	}
}

// The child's signal handlers are the defaults, as a C child's after
// signal(SIGTERM, SIG_DFL): kill(SIGTERM) ends it, which is how a server
// stops the children of connections still open.
func TestForkEchoKilled(t *testing.T) {
	_, _, connfd := tcpConn(t)
	pid, err := ForkEcho(connfd, -1, make([]byte, 32), unix.MSG_NOSIGNAL)
	Close(connfd)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // in recv by now, most likely; either way SIGTERM ends it
	if err := Kill(pid, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := reap(t, pid); !st.Signaled() || st.Signal() != unix.SIGTERM {
		t.Errorf("child status %v, want killed by SIGTERM", st)
	}
	if err := Kill(pid, unix.SIGTERM); !errors.Is(err, unix.ESRCH) || err.Error() != "kill: no such process" {
		t.Errorf("kill of a reaped child: %v, want kill: ESRCH", err)
	}
}

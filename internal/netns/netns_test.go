package netns_test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var loopback = [4]byte{127, 0, 0, 1}

// threadNetns names the calling thread's network namespace ("net:[4026531840]").
func threadNetns(t *testing.T) string {
	t.Helper()
	s, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do runs netns.Do, skipping (or failing under SOCKLAB_REQUIRE_PRIV=1) when
// the namespace cannot be made.
func do(t *testing.T, fn func() error) {
	t.Helper()
	err := netns.Do(fn)
	if errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// udpSocket opens a UDP socket bound to 127.0.0.1:port and returns it with
// its bound address.
func udpSocket(port int) (int, sys.SockaddrIn, error) {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, sys.SockaddrIn{}, err
	}
	sa := sys.NewSockaddrIn(loopback, port)
	if err := sys.Bind(fd, &sa); err != nil {
		sys.Close(fd)
		return -1, sys.SockaddrIn{}, err
	}
	n := sys.SizeofSockaddrIn
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		sys.Close(fd)
		return -1, sys.SockaddrIn{}, err
	}
	return fd, sa, nil
}

func TestDo(t *testing.T) {
	runtime.LockOSThread()
	outside := threadNetns(t)
	runtime.UnlockOSThread()

	var inside, child string
	var idx, a, b int
	var aAddr, bAddr sys.SockaddrIn
	do(t, func() error {
		var err error
		s, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		inside = s
		if idx, err = sys.IfIndex("lo"); err != nil {
			return err
		}
		if a, aAddr, err = udpSocket(0); err != nil {
			return err
		}
		if b, bAddr, err = udpSocket(0); err != nil {
			return err
		}
		// A child forked on this thread starts in this namespace.
		out, err := exec.Command("readlink", "/proc/self/ns/net").Output()
		child = strings.TrimSpace(string(out))
		return err
	})
	defer sys.Close(a)
	defer sys.Close(b)

	if inside == outside {
		t.Errorf("inside Do the thread is still in %s", outside)
	}
	if child != inside {
		t.Errorf("child process in %q, want %q", child, inside)
	}
	if idx != 1 {
		t.Errorf("IfIndex(lo) in a new namespace = %d, want 1", idx)
	}

	// lo is up: a datagram goes from a to b, from this goroutine, after Do.
	if _, err := sys.Sendto(a, []byte("ping"), 0, &bAddr); err != nil {
		t.Fatal(err)
	}
	if err := sys.SetsockoptTimeval(b, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var buf [16]byte
	var from sys.SockaddrIn
	fromlen := sys.SizeofSockaddrIn
	n, err := sys.Recvfrom(b, buf[:], 0, &from, &fromlen)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "ping" || from != aAddr {
		t.Errorf("got %q from %v, want %q from %v", buf[:n], &from, "ping", &aAddr)
	}

	// The port bound inside is free outside.
	c, _, err := udpSocket(bAddr.PortOf())
	if err != nil {
		t.Fatalf("binding port %d outside the namespace: %v", bAddr.PortOf(), err)
	}
	sys.Close(c)
}

// The locked thread dies with its goroutine: no goroutine scheduled later
// lands on a thread left in a private namespace.
func TestDoThreadNotReused(t *testing.T) {
	runtime.LockOSThread()
	outside := threadNetns(t)
	runtime.UnlockOSThread()
	for range 8 {
		do(t, func() error { return nil })
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 64 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			s, err := os.Readlink("/proc/thread-self/ns/net")
			if err == nil && s != outside {
				errs <- s
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("a pooled thread is in %s, not %s", s, outside)
	}
}

func TestDoErrors(t *testing.T) {
	want := errors.New("from fn")
	var err error
	do(t, func() error { return nil }) // skips without privilege
	if err = netns.Do(func() error { return want }); err != want {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	if err = netns.Do(func() error { runtime.Goexit(); return nil }); !errors.Is(err, netns.ErrGoexit) {
		t.Errorf("Do with Goexit returned %v, want ErrGoexit", err)
	}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want boom", v)
			}
		}()
		netns.Do(func() error { panic("boom") })
		t.Error("Do did not panic")
	}()
}

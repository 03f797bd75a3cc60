package sys

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFdSetRefusesOutOfRange(t *testing.T) {
	var s FdSet
	for _, fd := range []int{-1, FD_SETSIZE, FD_SETSIZE + 1, 1 << 20} {
		if err := s.Set(fd); !errors.Is(err, ErrFDSetSize) {
			t.Errorf("Set(%d) = %v, want ErrFDSetSize", fd, err)
		}
		if s.IsSet(fd) {
			t.Errorf("IsSet(%d) after a refused Set", fd)
		}
		s.Clear(fd) // must not panic
	}
	if s != (FdSet{}) {
		t.Fatalf("refused Sets changed the set: %v", s.Bits)
	}
	for _, fd := range []int{0, 63, 64, FD_SETSIZE - 1} {
		if err := s.Set(fd); err != nil || !s.IsSet(fd) {
			t.Errorf("Set(%d) = %v, IsSet %v", fd, err, s.IsSet(fd))
		}
		s.Clear(fd)
		if s.IsSet(fd) {
			t.Errorf("IsSet(%d) after Clear", fd)
		}
	}
	if _, err := Select(FD_SETSIZE+1, &s, nil, nil, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Select(nfds %d) = %v, want EINVAL", FD_SETSIZE+1, err)
	}
}

// Select and Poll report a readable eventfd and time out on an empty one,
// neither sooner nor much later than asked.
func TestSelectPollReadiness(t *testing.T) {
	fd, err := Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	wait := func() (int, int, time.Duration) {
		start := time.Now()
		var r FdSet
		r.Set(fd)
		ns, err := Select(fd+1, &r, nil, nil, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if ns == 1 && !r.IsSet(fd) {
			t.Fatal("select returned 1 but the descriptor is not in the set")
		}
		fds := []PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		np, err := Poll(fds, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return ns, np, time.Since(start)
	}
	ns, np, took := wait()
	if ns != 0 || np != 0 || took < 100*time.Millisecond || took > 2*time.Second {
		t.Fatalf("empty eventfd: select %d, poll %d after %v; want 0, 0 after two 50ms timeouts", ns, np, took)
	}
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	if _, err := Write(fd, one); err != nil {
		t.Fatal(err)
	}
	ns, np, took = wait()
	if ns != 1 || np != 1 || took > time.Second {
		t.Fatalf("readable eventfd: select %d, poll %d after %v; want 1, 1 at once", ns, np, took)
	}
}

func TestSetNonblock(t *testing.T) {
	fd, err := Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	for _, on := range []bool{true, true, false} {
		if err := SetNonblock(fd, on); err != nil {
			t.Fatal(err)
		}
		fl, err := FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := fl&unix.O_NONBLOCK != 0; got != on {
			t.Fatalf("O_NONBLOCK %v after SetNonblock(%v)", got, on)
		}
	}
	if err := SetNonblock(-1, true); !errors.Is(err, unix.EBADF) {
		t.Fatalf("SetNonblock(-1) = %v, want EBADF", err)
	}
}

func TestRlimitRoundTrip(t *testing.T) {
	var old Rlimit
	if err := Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	defer Setrlimit(unix.RLIMIT_NOFILE, &old)
	low := Rlimit{Cur: 100, Max: old.Max}
	if err := Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var got Rlimit
	if err := Getrlimit(unix.RLIMIT_NOFILE, &got); err != nil || got.Cur != 100 {
		t.Fatalf("after Setrlimit(100): %+v, %v", got, err)
	}
	if err := Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
}

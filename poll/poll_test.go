package poll

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newWake(t *testing.T) *Wake {
	t.Helper()
	w, err := NewWake()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestSelectRefusesHighFD(t *testing.T) {
	var s Select
	for _, fd := range []int{-1, sys.FD_SETSIZE, 5000} {
		if err := s.Add(fd, unix.POLLIN); !errors.Is(err, sys.ErrFDSetSize) {
			t.Errorf("Add(%d) = %v, want ErrFDSetSize", fd, err)
		}
	}
	if s.Nfds() != 0 {
		t.Fatalf("refused Adds moved nfds to %d", s.Nfds())
	}
	s.Add(3, unix.POLLIN)
	s.Add(10, unix.POLLOUT)
	if s.Nfds() != 11 {
		t.Fatalf("nfds %d, want 11", s.Nfds())
	}
	s.Remove(10)
	if s.Nfds() != 4 {
		t.Fatalf("nfds %d after removing the highest, want 4", s.Nfds())
	}
	s.Remove(3)
	if s.Nfds() != 0 {
		t.Fatalf("nfds %d after removing all, want 0", s.Nfds())
	}
}

func TestPollSlotsReused(t *testing.T) {
	var p Poll
	a := p.Add(5, unix.POLLIN)
	b := p.Add(6, unix.POLLIN)
	c := p.Add(7, unix.POLLIN)
	p.Remove(b)
	if d := p.Add(8, unix.POLLIN); d != b {
		t.Fatalf("Add after Remove(%d) took slot %d", b, d)
	}
	p.Remove(c)
	if len(p.Fds) != 2 {
		t.Fatalf("trailing free slot kept: %d slots", len(p.Fds))
	}
	p.Remove(b)
	p.Remove(a)
	if len(p.Fds) != 0 || len(p.free) != 0 {
		t.Fatalf("empty Poll has %d slots, %d free", len(p.Fds), len(p.free))
	}
}

// A goroutine's Wake makes a blocked Wait return; Drain makes it block again.
func TestWakeStopsWaits(t *testing.T) {
	w := newWake(t)
	waits := map[string]func() (bool, error){
		"select": func() (bool, error) {
			var s Select
			s.Add(w.Fd(), unix.POLLIN)
			n, err := s.Wait(5 * time.Second)
			return n == 1 && s.Readable(w.Fd()), err
		},
		"poll": func() (bool, error) {
			var p Poll
			slot := p.Add(w.Fd(), unix.POLLIN)
			n, err := p.Wait(5 * time.Second)
			return n == 1 && p.Fds[slot].Revents&unix.POLLIN != 0, err
		},
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) {
			go func() { time.Sleep(50 * time.Millisecond); w.Wake() }()
			start := time.Now()
			ok, err := wait()
			if err != nil || !ok || time.Since(start) > 3*time.Second {
				t.Fatalf("woken: %v, %v after %v", ok, err, time.Since(start))
			}
			if err := w.Drain(); err != nil {
				t.Fatal(err)
			}
			var p Poll
			p.Add(w.Fd(), unix.POLLIN)
			if n, err := p.Wait(0); n != 0 || err != nil {
				t.Fatalf("after Drain: poll %d, %v; want 0", n, err)
			}
		})
	}
	if err := w.Drain(); err != nil { // empty: EAGAIN is not an error
		t.Fatal(err)
	}
}

// Signals that interrupt a wait do not end it early or stretch it: EINTR
// is retried with what is left of the timeout.
func TestWaitSurvivesSignals(t *testing.T) {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Kill(os.Getpid(), syscall.SIGUSR1)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	defer func() { close(stop); <-done }()
	w := newWake(t)
	for _, c := range []struct {
		name string
		wait func(time.Duration) (int, error)
	}{
		{"select", func(d time.Duration) (int, error) {
			var s Select
			s.Add(w.Fd(), unix.POLLIN)
			return s.Wait(d)
		}},
		{"poll", func(d time.Duration) (int, error) {
			var p Poll
			p.Add(w.Fd(), unix.POLLIN)
			return p.Wait(d)
		}},
	} {
		start := time.Now()
		n, err := c.wait(200 * time.Millisecond)
		took := time.Since(start)
		if err != nil || n != 0 {
			t.Errorf("%s: %d, %v under signals; want a plain timeout", c.name, n, err)
		}
		if took < 200*time.Millisecond || took > time.Second {
			t.Errorf("%s: a 200ms wait took %v under signals", c.name, took)
		}
	}
}

// Waiting, waking and draining allocate nothing.
func TestZeroAllocs(t *testing.T) {
	w := newWake(t)
	var s Select
	s.Add(w.Fd(), unix.POLLIN)
	var p Poll
	p.Add(w.Fd(), unix.POLLIN)
	allocs := testing.AllocsPerRun(100, func() {
		w.Wake()
		s.Wait(0)
		p.Wait(0)
		w.Drain()
		p.Remove(p.Add(99, unix.POLLIN))
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per wake/wait/drain, want 0", allocs)
	}
}

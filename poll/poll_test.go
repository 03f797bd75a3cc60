package poll

import (
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

// selectIn waits up to d for fd to be readable with select(2).
func selectIn(fd int, d time.Duration) (int, bool, error) {
	var r sys.FdSet
	r.Set(fd)
	n, err := sys.Select(fd+1, &r, nil, nil, d)
	return n, r.IsSet(fd), err
}

// pollIn waits up to d for fd to be readable with poll(2).
func pollIn(fd int, d time.Duration) (int, bool, error) {
	fds := []sys.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := sys.Poll(fds, d)
	return n, fds[0].Revents&unix.POLLIN != 0, err
}

// A goroutine's Wake makes a blocked select or poll return; Drain makes it
// block again.
func TestWakeStopsWaits(t *testing.T) {
	w := newWake(t)
	waits := map[string]func() (bool, error){
		"select": func() (bool, error) {
			n, in, err := selectIn(w.Fd(), 5*time.Second)
			return n == 1 && in, err
		},
		"poll": func() (bool, error) {
			n, in, err := pollIn(w.Fd(), 5*time.Second)
			return n == 1 && in, err
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
			if n, _, err := pollIn(w.Fd(), 0); n != 0 || err != nil {
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
			n, _, err := selectIn(w.Fd(), d)
			return n, err
		}},
		{"poll", func(d time.Duration) (int, error) {
			n, _, err := pollIn(w.Fd(), d)
			return n, err
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

// Waking and draining allocate nothing.
func TestZeroAllocs(t *testing.T) {
	w := newWake(t)
	fds := []sys.PollFd{{Fd: int32(w.Fd()), Events: unix.POLLIN}}
	allocs := testing.AllocsPerRun(100, func() {
		w.Wake()
		sys.Poll(fds, 0)
		w.Drain()
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per wake/poll/drain, want 0", allocs)
	}
}

package poll

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Timers fire in deadline order through one epoll set; a level-triggered
// timer stays ready until read, an edge-triggered one is reported once.
func TestEpollTimers(t *testing.T) {
	ep, err := NewEpoll(unix.EPOLL_CLOEXEC, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	late, err := NewTimer(60*time.Millisecond, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(late)
	early, err := NewTimer(0, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC) // 0 expires at once
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(early)
	if n, err := Expirations(late); n != 0 || err != nil {
		t.Errorf("Expirations before the deadline: %d, %v; want 0, nil", n, err)
	}
	if err := ep.Add(late, unix.EPOLLIN|unix.EPOLLET); err != nil {
		t.Fatal(err)
	}
	if err := ep.Add(early, unix.EPOLLIN); err != nil {
		t.Fatal(err)
	}
	evs, err := ep.Wait(time.Second)
	if err != nil || len(evs) != 1 || int(evs[0].Fd) != early {
		t.Fatalf("first Wait: %+v, %v; want the early timer", evs, err)
	}
	if evs, _ := ep.Wait(0); len(evs) != 1 { // level-triggered: still ready
		t.Errorf("unread level-triggered timer not reported again: %+v", evs)
	}
	if n, err := Expirations(early); n != 1 || err != nil {
		t.Errorf("Expirations: %d, %v", n, err)
	}
	evs, err = ep.Wait(time.Second)
	if err != nil || len(evs) != 1 || int(evs[0].Fd) != late {
		t.Fatalf("second Wait: %+v, %v; want the late timer", evs, err)
	}
	if evs, _ := ep.Wait(20 * time.Millisecond); len(evs) != 0 { // edge-triggered: once
		t.Errorf("edge-triggered timer reported twice: %+v", evs)
	}
	if err := ep.Mod(late, unix.EPOLLIN); err != nil { // back to level: ready again
		t.Fatal(err)
	}
	if evs, _ := ep.Wait(0); len(evs) != 1 {
		t.Errorf("after Mod to level-triggered: %+v", evs)
	}
	if err := ep.Del(late); err != nil {
		t.Fatal(err)
	}
	if evs, _ := ep.Wait(0); len(evs) != 0 {
		t.Errorf("after Del: %+v", evs)
	}
}

// Waiting allocates nothing.
func TestEpollWaitZeroAllocs(t *testing.T) {
	ep, err := NewEpoll(unix.EPOLL_CLOEXEC, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	allocs := testing.AllocsPerRun(100, func() {
		tfd, err := NewTimer(0, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		ep.Add(tfd, unix.EPOLLIN)
		ep.Wait(-1)
		Expirations(tfd)
		sys.Close(tfd)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per timer round, want 0", allocs)
	}
}

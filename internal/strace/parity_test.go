package strace

import (
	"strings"
	"testing"
)

func step(family string, refs ...string) Step {
	return Step{Family: family, Refs: refs}
}

func TestParity(t *testing.T) {
	c := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	c[2].Errno = "EINTR"
	same := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("shutdown", "sock#1"), step("close", "sock#1")}
	if d := Parity(same, c); len(d) != 0 {
		t.Errorf("shutdown is a listed extra and results are not compared, yet: %v", d)
	}
	swapped := []Step{step("socket"), step("recvfrom", "sock#1"), step("bind", "sock#1"), step("close", "sock#1")}
	if d := Parity(swapped, c); len(d) != 2 {
		t.Errorf("bind and recvfrom swapped: differences %v, want 2", d)
	}
	otherFD := []Step{step("socket"), step("socket"), step("bind", "sock#2"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	d := Parity(otherFD, c)
	if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), "Go only:  socket()") {
		t.Errorf("an extra socket and bind on the wrong socket: differences %v", d)
	}
	if d := Parity(nil, c); len(d) != 4 {
		t.Errorf("empty Go trace: %d differences, want 4", len(d))
	}

	// An EINTR'd epoll_wait made again after another thread's shutdown is
	// the retry policy, not a step; one followed by close is what C shows.
	ep := func(f string, refs ...string) Step { st := step(f, refs...); st.Proc = 1; return st }
	intr := ep("epoll_wait", "ep#1")
	intr.Errno = "EINTR"
	goSteps := []Step{ep("epoll_wait", "ep#1"), intr, ep("shutdown", "sock#1"), ep("epoll_wait", "ep#1"), ep("close", "ep#1")}
	cSteps := []Step{ep("epoll_wait", "ep#1"), intr, ep("close", "ep#1")}
	if d := Parity(goSteps, cSteps); len(d) != 0 {
		t.Errorf("a retried EINTR counted as a step: %v", d)
	}
	twice := []Step{ep("epoll_wait", "ep#1"), ep("epoll_wait", "ep#1"), ep("epoll_wait", "ep#1"), ep("close", "ep#1")}
	if d := Parity(twice, cSteps); len(d) != 1 {
		t.Errorf("a real extra epoll_wait (no EINTR) must show: %v", d)
	}
}

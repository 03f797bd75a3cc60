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
}

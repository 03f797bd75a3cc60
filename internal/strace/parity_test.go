package strace

import (
	"strings"
	"testing"
)

func step(family string, refs ...string) Step {
	return Step{Call: Call{Kind: KindSyscall, Name: family}, Family: family, Refs: refs}
}

// Parity is compare's oracle: what Align leaves unexplained for a C twin.
func TestParity(t *testing.T) {
	c := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	c[2].Errno = "EINTR"
	same := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("shutdown", "sock#1"), step("close", "sock#1")}
	if d := Parity(same, c); len(d) != 0 {
		t.Errorf("shutdown (raw-shutdown) and C's EINTR (c-eintr) are explained, yet: %v", d)
	}
	swapped := []Step{step("socket"), step("recvfrom", "sock#1"), step("bind", "sock#1"), step("close", "sock#1")}
	if d := Parity(swapped, c); len(d) != 2 {
		t.Errorf("bind and recvfrom swapped: differences %v, want 2", d)
	}
	otherFD := []Step{step("socket"), step("socket"), step("bind", "sock#2"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	d := Parity(otherFD, c)
	if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), "c lacks socket") {
		t.Errorf("an extra socket and bind on the wrong socket: differences %v", d)
	}
	if d := Parity(nil, c); len(d) != 4 {
		t.Errorf("empty Go trace: %d differences, want 4", len(d))
	}
	flag := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	flag[2].ArgList = []string{"3", "0x1", "8", "MSG_PEEK", "NULL", "NULL"}
	if d := Parity(flag, c); len(d) == 0 {
		t.Errorf("a flag only the raw program passes must show: %v", d)
	}
	twice := []Step{step("socket"), step("bind", "sock#1"), step("recvfrom", "sock#1"), step("recvfrom", "sock#1"), step("close", "sock#1")}
	if d := Parity(twice, c); len(d) != 1 {
		t.Errorf("a real extra recvfrom must show once: %v", d)
	}
}

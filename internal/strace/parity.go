package strace

import (
	"fmt"
	"slices"
	"strings"
)

// Extra is a step that a raw Go program makes and its C twin does not,
// with the reason. The table is the only place such a step is excused: a
// parity check that meets any other difference fails.
type Extra struct {
	Family string
	Why    string
}

// RawExtras returns the steps a raw Go program may add to its C twin's.
func RawExtras() []Extra {
	return []Extra{
		{"shutdown", "a blocking Go server is stopped from a signal-handling goroutine; shutdown " +
			"(SHUT_RDWR, or SHUT_RD where requests in progress must still reply) wakes the thread " +
			"blocked in recvfrom or accept, which a blocking C server gets from EINTR (Go installs its " +
			"handlers with SA_RESTART and delivers signals to another thread). The TCP event loops' C " +
			"twins shut their listening sockets down too, and make the same shutdown"},
	}
}

// Parity compares a raw Go program's network steps with its C twin's, by
// family and descriptor flow, and returns every difference that RawExtras
// does not explain, one line each; none means the mirror holds. Results
// are not compared: a call woken by shutdown returns 0 in Go where C's
// returns -1 EINTR, and the two programs see different ports.
func Parity(goSteps, cSteps []Step) []string {
	excused := map[string]bool{}
	for _, x := range RawExtras() {
		excused[x.Family] = true
	}
	a, b := shapes(goSteps), shapes(cSteps)
	var out []string
	for _, e := range Diff(a, b) {
		switch e.Op {
		case OnlyA:
			if !excused[a[e.A].Family] {
				out = append(out, fmt.Sprintf("Go only:  %s", a[e.A].Key()))
			}
		case OnlyB:
			out = append(out, fmt.Sprintf("C only:   %s", b[e.B].Key()))
		}
	}
	return out
}

// shapes strips what Parity does not compare: errors, missing returns,
// and a call that failed with EINTR and was made again by the same
// process on the same objects, with nothing touching those objects in
// between. That is sys's one EINTR policy at work (Network already merges
// a retry on the same thread; Go may retry on another thread, once the
// scheduler has moved the goroutine), not a step of the program.
func shapes(steps []Step) []Step {
	out := make([]Step, 0, len(steps))
	for i, s := range steps {
		if s.Errno == "EINTR" && retried(steps, i) {
			continue
		}
		s.Errno, s.NoReturn = "", false
		out = append(out, s)
	}
	return out
}

// retried reports whether steps[i] is made again later by its process
// before any other step of that process uses one of its objects.
func retried(steps []Step, i int) bool {
	s := steps[i]
	for _, n := range steps[i+1:] {
		if n.Proc != s.Proc || !shares(n.Refs, s.Refs) {
			continue
		}
		return n.Family == s.Family && strings.Join(n.Refs, ",") == strings.Join(s.Refs, ",")
	}
	return false
}

func shares(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

package strace

// Extra is a step that a raw Go program makes and its C twin does not,
// with the reason. KnownDifferences lists each as raw-<family>, the only
// excuse Parity and compare accept for such a step.
type Extra struct {
	Family string
	Why    string
}

// RawExtras returns the steps a raw Go program may add to its C twin's.
func RawExtras() []Extra {
	return []Extra{
		{"shutdown", "a blocking Go program is stopped from a signal-handling goroutine; shutdown " +
			"wakes the thread blocked in recvfrom or accept, which a blocking C program gets from EINTR " +
			"(Go installs its handlers with SA_RESTART and delivers signals to another thread). The C " +
			"servers' handlers shut their sockets down too, lest a signal caught just before the " +
			"blocking call be lost, and make the same shutdown"},
	}
}

// Parity compares a raw Go program's network steps with its C twin's as
// socklab compare does: it aligns them (Align) and returns every
// difference that KnownDifferences does not explain for a C twin, one
// line each; none means the mirror holds.
func Parity(goSteps, cSteps []Step) []string {
	var out []string
	for _, row := range Align(goSteps, Column{Name: "c", Steps: cSteps}) {
		for _, d := range row.Diffs {
			if d.Known == nil {
				out = append(out, d.Detail)
			}
		}
	}
	return out
}

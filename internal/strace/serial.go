package strace

import (
	"strconv"
	"strings"
)

// strand is one line of control in a traced program: a process, or with
// Serialize's byConn the work on one socket inside it.
type strand struct {
	proc int
	conn string // "sock#2"; "" for the process's own
}

// Serialize lists concurrent work one strand at a time, so that two runs
// of a program order alike whatever the scheduler did:
//
//   - the steps of a forked process come as one block right after the
//     fork that made it (the parent's close of its copy of the connection
//     then follows the child's echo, whichever ran first);
//   - with byConn, the steps a process makes on a socket come as one block
//     right after the step that made it (accept, or socket). That is how a
//     thread-per-connection program must be read: a server's next accept
//     races the worker's reads, a threaded client's connections race each
//     other, in C as in Go. Never set it for an event loop, whose one
//     thread interleaves its clients on purpose.
//
// Within a strand the order is the trace's. Serialize keeps every step.
func Serialize(steps []Step, byConn bool) []Step {
	var order []strand // strands in order of first step
	of := map[strand][]Step{}
	made := map[strand][]strand{} // strands a step made, keyed by the step's own strand and index there
	madeAt := map[strand][]int{}
	accepted := map[strand]bool{}
	for _, s := range steps {
		k := strand{proc: s.Proc}
		if byConn {
			for _, r := range s.Refs {
				if accepted[strand{s.Proc, r}] {
					k.conn = r
					break
				}
			}
		}
		if _, ok := of[k]; !ok {
			order = append(order, k)
		}
		idx := len(of[k])
		of[k] = append(of[k], s)
		for _, n := range strings.Fields(s.New) {
			var child strand
			num, isProc := strings.CutPrefix(n, "proc#")
			proc, err := strconv.Atoi(num)
			switch {
			case isProc && err == nil:
				child = strand{proc: proc}
			case byConn && (s.Family == "accept" || s.Family == "socket") && strings.HasPrefix(n, "sock#"):
				child = strand{proc: s.Proc, conn: n}
				accepted[child] = true
			default:
				continue
			}
			made[k] = append(made[k], child)
			madeAt[k] = append(madeAt[k], idx)
		}
	}
	out := make([]Step, 0, len(steps))
	done := map[strand]bool{}
	var emit func(k strand)
	emit = func(k strand) {
		if done[k] {
			return
		}
		done[k] = true
		children, at := made[k], madeAt[k]
		for i, s := range of[k] {
			out = append(out, s)
			for c := range children {
				if at[c] == i {
					emit(children[c])
				}
			}
		}
	}
	for _, k := range order {
		emit(k)
	}
	return out
}

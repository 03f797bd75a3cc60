package strace

import "fmt"

// A Loop places a step in a cycle that Collapse folded: the step is the
// Pos'th of the cycle's Len steps, which the program made Times times in
// a row. The zero Loop is a step made once.
type Loop struct {
	Times int `json:"times"`
	Pos   int `json:"pos"`
	Len   int `json:"len"`
}

// MaxCycle is the longest cycle, in steps, that Collapse looks for.
const MaxCycle = 16

// Collapse folds each run of a repeated cycle into one copy of the cycle
// whose steps carry, in Loop, how many times it ran. A cycle is a
// sequence of up to MaxCycle steps; it repeats when the next steps are
// the same calls with the same results, exactly as strace printed them
// (name, arguments, descriptors, return value and ready sets), whoever's
// thread made them. So a busy loop, which makes as many rounds as the
// scheduler allows, reads as its shape: the select that reports a
// writable socket and the recvfrom that returns 0, made N times. A round
// that differs in any call or result breaks the run and stays, as do the
// rounds before and after it; a cycle made once is not folded.
//
// Scanning from the first step, Collapse folds at each step the cycle
// that covers the most steps, the shortest of those that cover as many
// ([a b a b a b] is [a b] three times, not [a b a b] and a rest). Two
// traces of one program are folded alike whatever their counts, which
// Align then leaves out of the comparison (Key has the place in the
// cycle, not the count), while it still compares the results of two
// folded steps it sets side by side.
//
// Apply it to every column of a comparison, to steps that are already
// Serialize'd, and once: the steps it returns are not folded again.
func Collapse(steps []Step) []Step {
	ids := make([]string, len(steps))
	for i, s := range steps {
		ids[i] = identity(s)
	}
	out := make([]Step, 0, len(steps))
	for i := 0; i < len(steps); {
		cycle, times := 0, 1
		for n := 1; n <= MaxCycle && i+2*n <= len(steps); n++ {
			if r := repeats(ids, i, n); r >= 2 && r*n > cycle*times {
				cycle, times = n, r
			}
		}
		if cycle == 0 {
			out = append(out, steps[i])
			i++
			continue
		}
		for k := range cycle {
			s := steps[i+k]
			s.Loop = Loop{Times: times, Pos: k + 1, Len: cycle}
			out = append(out, s)
		}
		i += cycle * times
	}
	return out
}

// repeats counts the copies of ids[i:i+n] that follow one another from i.
func repeats(ids []string, i, n int) int {
	r := 1
	for j := i + n; j+n <= len(ids); j += n {
		for k := range n {
			if ids[j+k] != ids[i+k] {
				return r
			}
		}
		r++
	}
	return r
}

// identity is what makes two steps the same call with the same result:
// the process, the symbolic step, and the call as strace printed it, but
// for its thread id and line.
func identity(s Step) string {
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%s\x00%v", s.Proc, s.Key(), s.Name, s.Args, s.RetText, s.Loop)
}

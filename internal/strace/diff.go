package strace

import (
	"fmt"
	"strings"
)

// Op says where a step of a Diff stands.
type Op int

const (
	Same  Op = iota // in both sequences
	OnlyA           // only in the first
	OnlyB           // only in the second
)

func (o Op) String() string {
	switch o {
	case Same:
		return "same"
	case OnlyA:
		return "only a"
	case OnlyB:
		return "only b"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// An Edit is one row of a Diff: A and B index the two sequences, -1 on
// the side that lacks the step.
type Edit struct {
	Op   Op
	A, B int
}

// maxCells bounds the alignment table; beyond it the middle of the two
// sequences, after their common head and tail, is reported unaligned.
const maxCells = 1 << 24

// Diff aligns two step sequences by Key (a longest common subsequence)
// and returns the rows in order: steps in both, steps only in a, steps
// only in b. The sequences are equal when every row is Same.
func Diff(a, b []Step) []Edit {
	ka, kb := Keys(a), Keys(b)
	var head, tail []Edit
	lo := 0
	for lo < len(ka) && lo < len(kb) && ka[lo] == kb[lo] {
		head = append(head, Edit{Same, lo, lo})
		lo++
	}
	ea, eb := len(ka), len(kb)
	for ea > lo && eb > lo && ka[ea-1] == kb[eb-1] {
		ea, eb = ea-1, eb-1
		tail = append(tail, Edit{Same, ea, eb})
	}
	out := append(head, lcs(ka[lo:ea], kb[lo:eb], lo, lo)...)
	for i := len(tail) - 1; i >= 0; i-- {
		out = append(out, tail[i])
	}
	return out
}

// lcs aligns x and y, whose first elements are a[offA] and b[offB].
func lcs(x, y []string, offA, offB int) []Edit {
	n, m := len(x), len(y)
	var out []Edit
	if n*m > maxCells {
		for i := range x {
			out = append(out, Edit{OnlyA, offA + i, -1})
		}
		for j := range y {
			out = append(out, Edit{OnlyB, -1, offB + j})
		}
		return out
	}
	// l[i*(m+1)+j] is the LCS length of x[i:] and y[j:].
	w := m + 1
	l := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i*w+j] = l[(i+1)*w+j+1] + 1
			} else {
				l[i*w+j] = max(l[(i+1)*w+j], l[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case x[i] == y[j]:
			out = append(out, Edit{Same, offA + i, offB + j})
			i, j = i+1, j+1
		case l[(i+1)*w+j] >= l[i*w+j+1]:
			out = append(out, Edit{OnlyA, offA + i, -1})
			i++
		default:
			out = append(out, Edit{OnlyB, -1, offB + j})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, Edit{OnlyA, offA + i, -1})
	}
	for ; j < m; j++ {
		out = append(out, Edit{OnlyB, -1, offB + j})
	}
	return out
}

// Equal reports whether a Diff has only Same rows.
func Equal(edits []Edit) bool {
	for _, e := range edits {
		if e.Op != Same {
			return false
		}
	}
	return true
}

// FormatDiff renders a Diff of a and b in two columns, marking rows only
// in a with "-" and rows only in b with "+", for test failures:
//
//	  socket() = sock#1     socket() = sock#1
//	- setsockopt(sock#1)
//	  bind(sock#1)          bind(sock#1)
func FormatDiff(a, b []Step, edits []Edit) string {
	width := 0
	for _, e := range edits {
		if e.A >= 0 {
			width = max(width, len(a[e.A].Key()))
		}
	}
	var sb strings.Builder
	for _, e := range edits {
		left, right, mark := "", "", " "
		if e.A >= 0 {
			left = a[e.A].Key()
		}
		if e.B >= 0 {
			right = b[e.B].Key()
		}
		switch e.Op {
		case OnlyA:
			mark = "-"
		case OnlyB:
			mark = "+"
		}
		line := fmt.Sprintf("%s %-*s   %s", mark, width, left, right)
		sb.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return sb.String()
}

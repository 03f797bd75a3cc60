package strace_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

// steps builds a sequence from "family" or "family:ref" words.
func steps(words string) []strace.Step {
	var out []strace.Step
	for _, w := range strings.Fields(words) {
		fam, ref, _ := strings.Cut(w, ":")
		s := strace.Step{Family: fam, Proc: 1, FD: -1}
		if ref != "" {
			s.Refs = []string{ref}
		}
		out = append(out, s)
	}
	return out
}

// render writes a Diff compactly: "=x" same, "-x" only in a, "+x" only in b.
func render(a, b []strace.Step, edits []strace.Edit) string {
	var parts []string
	for _, e := range edits {
		switch e.Op {
		case strace.Same:
			parts = append(parts, "="+a[e.A].Family)
		case strace.OnlyA:
			parts = append(parts, "-"+a[e.A].Family)
		case strace.OnlyB:
			parts = append(parts, "+"+b[e.B].Family)
		}
	}
	return strings.Join(parts, " ")
}

func TestDiff(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{"", "", ""},
		{"socket bind close", "socket bind close", "=socket =bind =close"},
		{"socket bind close", "", "-socket -bind -close"},
		{"", "socket close", "+socket +close"},
		{"socket setsockopt bind close", "socket bind close", "=socket -setsockopt =bind =close"},
		{"socket bind close", "socket bind getsockname close", "=socket =bind +getsockname =close"},
		{"socket recvfrom sendto close", "socket recvmmsg sendmmsg close", "=socket -recvfrom -sendto +recvmmsg +sendmmsg =close"},
		{"a b c d", "d c b a", "-a -b -c =d +c +b +a"},
		{"x y x y", "y x y x", "-x =y =x =y +x"},
	} {
		a, b := steps(tt.a), steps(tt.b)
		edits := strace.Diff(a, b)
		if got := render(a, b, edits); got != tt.want {
			t.Errorf("Diff(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
		if strace.Equal(edits) != (tt.a == tt.b) {
			t.Errorf("Equal(Diff(%q, %q)) = %v", tt.a, tt.b, strace.Equal(edits))
		}
	}
}

func TestDiffComparesDescriptors(t *testing.T) {
	a := steps("socket close:sock#1")
	b := steps("socket close:sock#2")
	if got := render(a, b, strace.Diff(a, b)); got != "=socket -close +close" {
		t.Errorf("closing another socket matched: %s", got)
	}
}

func TestFormatDiff(t *testing.T) {
	a := steps("socket setsockopt:sock#1 bind:sock#1")
	b := steps("socket bind:sock#1 getsockname:sock#1")
	a[0].New, b[0].New = "sock#1", "sock#1"
	got := strace.FormatDiff(a, b, strace.Diff(a, b))
	want := "" +
		"  socket() = sock#1    socket() = sock#1\n" +
		"- setsockopt(sock#1)\n" +
		"  bind(sock#1)         bind(sock#1)\n" +
		"+                      getsockname(sock#1)\n"
	if got != want {
		t.Errorf("FormatDiff:\n%s\nwant:\n%s", got, want)
	}
}

// checkScript verifies that edits walk a and b once each, in order, and
// that Same rows pair equal keys; it returns the number of Same rows.
func checkScript(t *testing.T, a, b []strace.Step, edits []strace.Edit) int {
	t.Helper()
	i, j, same := 0, 0, 0
	for _, e := range edits {
		switch e.Op {
		case strace.Same:
			if e.A != i || e.B != j || a[i].Key() != b[j].Key() {
				t.Fatalf("bad Same row %+v at a[%d] b[%d]", e, i, j)
			}
			i, j, same = i+1, j+1, same+1
		case strace.OnlyA:
			if e.A != i || e.B != -1 {
				t.Fatalf("bad OnlyA row %+v at a[%d]", e, i)
			}
			i++
		case strace.OnlyB:
			if e.B != j || e.A != -1 {
				t.Fatalf("bad OnlyB row %+v at b[%d]", e, j)
			}
			j++
		}
	}
	if i != len(a) || j != len(b) {
		t.Fatalf("script covers a[:%d] b[:%d] of %d, %d", i, j, len(a), len(b))
	}
	return same
}

// lcsLen is the textbook recursion, to check that Diff is minimal.
func lcsLen(a, b []strace.Step) int {
	memo := make(map[[2]int]int)
	var f func(i, j int) int
	f = func(i, j int) int {
		if i == len(a) || j == len(b) {
			return 0
		}
		if v, ok := memo[[2]int{i, j}]; ok {
			return v
		}
		v := max(f(i+1, j), f(i, j+1))
		if a[i].Key() == b[j].Key() {
			v = max(v, 1+f(i+1, j+1))
		}
		memo[[2]int{i, j}] = v
		return v
	}
	return f(0, 0)
}

func TestDiffRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"socket", "bind", "recvfrom", "sendto", "close"}
	gen := func() []strace.Step {
		var w []string
		for range r.IntN(12) {
			w = append(w, words[r.IntN(len(words))])
		}
		return steps(strings.Join(w, " "))
	}
	for range 500 {
		a, b := gen(), gen()
		edits := strace.Diff(a, b)
		if same := checkScript(t, a, b, edits); same != lcsLen(a, b) {
			t.Fatalf("Diff(%q, %q) matched %d steps, the longest common subsequence has %d",
				strace.Families(a), strace.Families(b), same, lcsLen(a, b))
		}
	}
}

// Sequences too long to align are reported around their common head and tail.
func TestDiffLarge(t *testing.T) {
	mk := func(n int, odd string) []strace.Step {
		w := make([]string, n)
		for i := range w {
			w[i] = "recvfrom"
			if i%2 == 1 {
				w[i] = odd
			}
		}
		return steps("socket " + strings.Join(w, " ") + " close")
	}
	a, b := mk(5000, "sendto"), mk(5000, "sendmmsg")
	edits := strace.Diff(a, b)
	checkScript(t, a, b, edits)
	if edits[0].Op != strace.Same || edits[len(edits)-1].Op != strace.Same {
		t.Error("common head or tail not matched")
	}
}

package strace_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

// faithful writes the trace of the tutorial's select server for one
// client, as strace -f -y shows it: pid's listening socket l and
// connection c, accept entering the kernel as accept, and the rounds of
// its loop, each word a round, "spin*4" four of them:
//
//	echo  select = 2 (in, out), recvfrom = 5, sendto = 5
//	spin  select = 2 (in, out), recvfrom = 0 (the client's end, forever)
//	in    select = 1 (in), recvfrom = 0
//	out   select = 1 (out)
//	end   select = 2 (in, out), shutdown, close: the round is over
//
// Rounds alternate between two thread ids, as a Go goroutine does.
func faithful(pid int, accept string, l, c int, rounds string) string {
	ls, cs := fmt.Sprintf("%d<socket:[%d1]>", l, pid), fmt.Sprintf("%d<socket:[%d2]>", c, pid)
	sel := fmt.Sprintf("pselect6(%d, [%s], [%s], NULL, NULL, NULL) = ", c+1, cs, cs)
	var b strings.Builder
	line := func(tid int, format string, a ...any) {
		fmt.Fprintf(&b, "%d "+format+"\n", append([]any{tid}, a...)...)
	}
	line(pid, "socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = %s", ls)
	line(pid, "listen(%s, 20) = 0", ls)
	line(pid, "%s(%s, NULL, NULL) = %s", accept, ls, cs)
	n := 0
	for _, w := range strings.Fields(rounds) {
		word, count, _ := strings.Cut(w, "*")
		times, err := strconv.Atoi(count)
		if err != nil {
			times = 1
		}
		for range times {
			tid := pid + n%2
			n++
			switch word {
			case "echo":
				line(tid, "%s2 (in [%d], out [%d])", sel, c, c)
				line(tid, `recvfrom(%s, "hello", 32, 0, NULL, NULL) = 5`, cs)
				line(tid, `sendto(%s, "hello", 5, MSG_NOSIGNAL, NULL, 0) = 5`, cs)
			case "spin":
				line(tid, "%s2 (in [%d], out [%d])", sel, c, c)
				line(tid, `recvfrom(%s, "", 32, 0, NULL, NULL) = 0`, cs)
			case "in":
				line(tid, "%s1 (in [%d])", sel, c)
				line(tid, `recvfrom(%s, "", 32, 0, NULL, NULL) = 0`, cs)
			case "out":
				line(tid, "%s1 (out [%d])", sel, c)
			case "end":
				line(tid, "%s2 (in [%d], out [%d])", sel, c, c)
				line(tid, "shutdown(%s, SHUT_RDWR) = 0", cs)
				line(tid, "close(%s) = 0", cs)
			default:
				panic("faithful: no round " + word)
			}
		}
	}
	return b.String()
}

func labels(steps []strace.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Label()
	}
	return out
}

func checkLabels(t *testing.T, steps []strace.Step, want ...string) {
	t.Helper()
	if got := labels(steps); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// The spinning rounds fold into one cycle that says how often it ran and
// what it returned; the echo round before them, whose select returned the
// same but whose recvfrom did not, and the round that ends the loop stay.
func TestCollapseSpin(t *testing.T) {
	steps := strace.Collapse(traced(t, faithful(10, "accept4", 5, 8, "echo spin*4 end")))
	checkLabels(t, steps,
		"socket() = sock#1",
		"listen(sock#1)",
		"accept4(sock#1) = sock#2",
		"pselect6(sock#2, sock#2)",
		"recvfrom(sock#2)",
		"sendto(sock#2)",
		"4x pselect6(sock#2, sock#2) = 2",
		"4x recvfrom(sock#2) = 0",
		"pselect6(sock#2, sock#2)",
		"shutdown(sock#2)",
		"close(sock#2)",
	)
	if len(steps) != 11 {
		t.FailNow()
	}
	if sel, recv := steps[6], steps[7]; sel.Loop != (strace.Loop{Times: 4, Pos: 1, Len: 2}) || recv.Loop != (strace.Loop{Times: 4, Pos: 2, Len: 2}) {
		t.Errorf("loops %+v, %+v; want 4 times, steps 1 and 2 of 2", sel.Loop, recv.Loop)
	}
	if got, want := steps[6].Result(), "2 (in [sock#2], out [sock#2])"; got != want {
		t.Errorf("the folded select returned %q, want %q", got, want)
	}
	if got, want := steps[6].Key(), "select(sock#2, sock#2) [loop 1/2]"; got != want {
		t.Errorf("key %q, want %q: the place in the cycle, not the count", got, want)
	}
	if plain := traced(t, faithful(10, "accept4", 5, 8, "echo end")); len(strace.Collapse(plain)) != len(plain) {
		t.Errorf("Collapse folded a trace without a repeated round: %q", labels(strace.Collapse(plain)))
	}
}

// Folded alike, two twins that spun 4 and 9 times line up row by row,
// each count in its column and none compared; unfolded, the 5 rounds only
// one of them made are differences nothing explains.
func TestCollapseAlignsCounts(t *testing.T) {
	raw := traced(t, faithful(10, "accept4", 5, 8, "echo spin*4 end"))
	c := traced(t, faithful(20, "accept", 3, 4, "echo spin*9 end"))
	if d := strace.Parity(raw, c); len(d) != 10 {
		t.Errorf("unfolded: %d unexplained differences, want the 10 steps of 5 rounds: %q", len(d), d)
	}
	if d := strace.Parity(strace.Collapse(raw), strace.Collapse(c)); len(d) != 0 {
		t.Errorf("folded: unexplained differences %q", d)
	}
	got := rows(strace.Align(strace.Collapse(raw), strace.Column{Name: "c", Steps: strace.Collapse(c)}))
	want := []string{
		"4x pselect6(sock#2, sock#2) = 2 | 9x pselect6(sock#2, sock#2) = 2 | ",
		"4x recvfrom(sock#2) = 0 | 9x recvfrom(sock#2) = 0 | ",
	}
	if len(got) != 11 || strings.Join(got[6:8], "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n\t%s\nwant rows 7 and 8:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// What Collapse must not hide: a round that differs from the others in a
// call or a result, a loop whose rounds return something else in the
// twin, a cycle made once beside one made many times.
func TestCollapseKeepsDifferences(t *testing.T) {
	t.Run("a round unlike the others splits the run", func(t *testing.T) {
		raw := strace.Collapse(traced(t, faithful(10, "accept4", 5, 8, "echo spin*3 echo spin*2 end")))
		checkLabels(t, raw[6:],
			"3x pselect6(sock#2, sock#2) = 2",
			"3x recvfrom(sock#2) = 0",
			"pselect6(sock#2, sock#2)",
			"recvfrom(sock#2)",
			"sendto(sock#2)",
			"2x pselect6(sock#2, sock#2) = 2",
			"2x recvfrom(sock#2) = 0",
			"pselect6(sock#2, sock#2)",
			"shutdown(sock#2)",
			"close(sock#2)",
		)
		c := strace.Collapse(traced(t, faithful(20, "accept", 3, 4, "echo spin*6 end")))
		d := strings.Join(strace.Parity(raw, c), "\n")
		for _, want := range []string{"c lacks sendto", "c lacks pselect6 (step 1 of 2 of a loop, "} {
			if !strings.Contains(d, want) {
				t.Errorf("unexplained differences lack %q:\n%s", want, d)
			}
		}
	})
	t.Run("rounds with other results fold apart", func(t *testing.T) {
		steps := strace.Collapse(traced(t, faithful(10, "accept4", 5, 8, "echo spin*3 out*5 in*2 end")))
		checkLabels(t, steps[6:],
			"3x pselect6(sock#2, sock#2) = 2",
			"3x recvfrom(sock#2) = 0",
			"5x pselect6(sock#2, sock#2) = 1",
			"2x pselect6(sock#2, sock#2) = 1",
			"2x recvfrom(sock#2) = 0",
			"pselect6(sock#2, sock#2)",
			"shutdown(sock#2)",
			"close(sock#2)",
		)
		if got := steps[8].Result(); got != "1 (out [sock#2])" {
			t.Errorf("the select of the write-only rounds returned %q", got)
		}
	})
	t.Run("the twin's loop returns something else", func(t *testing.T) {
		raw := strace.Collapse(traced(t, faithful(10, "accept4", 5, 8, "echo spin*4 end")))
		c := strace.Collapse(traced(t, faithful(20, "accept", 3, 4, "echo in*4 end")))
		d := strace.Parity(raw, c)
		want := "in the loop, c's pselect6 returns 1 (in [sock#2]), raw's 2 (in [sock#2], out [sock#2])"
		if len(d) != 1 || d[0] != want {
			t.Errorf("unexplained differences %q, want only %q", d, want)
		}
		c = strace.Collapse(traced(t, faithful(20, "accept", 3, 4, "echo out*4 end")))
		if d := strace.Parity(raw, c); len(d) < 2 {
			t.Errorf("a loop of one select beside a loop of select and recvfrom: differences %q", d)
		}
	})
	t.Run("once is no loop", func(t *testing.T) {
		raw := strace.Collapse(traced(t, faithful(10, "accept4", 5, 8, "echo spin end")))
		c := strace.Collapse(traced(t, faithful(20, "accept", 3, 4, "echo spin*5 end")))
		if d := strace.Parity(raw, c); len(d) == 0 {
			t.Errorf("a round made once beside a loop of 5 shows no difference")
		}
	})
}

// Network names what select and poll reported ready; a descriptor that
// is no socket keeps its number.
func TestReady(t *testing.T) {
	steps := traced(t, `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 10
1 ppoll([{fd=0, events=POLLIN}, {fd=10, events=POLLIN|POLLOUT}], 2, NULL, NULL, 8) = 2 ([{fd=0, revents=POLLIN}, {fd=10, revents=POLLOUT}])
1 select(11, [0 4], [10], NULL, NULL) = 2 (in [0 4], out [10])
1 pselect6(11, [4], NULL, NULL, {tv_sec=1, tv_nsec=0}, NULL) = 1 (in [4], left {tv_sec=0, tv_nsec=999})
1 pselect6(11, [4], NULL, NULL, {tv_sec=0, tv_nsec=0}, NULL) = 0 (Timeout)
1 poll([{fd=4, events=POLLIN}], 1, 0) = -1 EINTR (Interrupted system call)
`)
	var got []string
	for _, s := range steps[2:] {
		got = append(got, s.Result())
	}
	want := []string{"2 (0 POLLIN, sock#2 POLLOUT)", "2 (in [0 sock#1], out [sock#2])", "1 (in [sock#1])", "0", "-1 EINTR"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

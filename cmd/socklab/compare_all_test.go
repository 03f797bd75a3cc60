package main

import (
	"strings"
	"testing"
	"time"
)

// Every program compare knows, with each flag set that picks another C
// twin, lines up with its C twin with nothing unexplained, three runs in
// a row: a timing-dependent step would show as an unexplained row in one
// of them. The net twins' columns are held to the table by the tests of
// compare_test.go; this one is the raw-C parity proof.
func TestCompareEveryProgram(t *testing.T) {
	needCompareTools(t)
	for _, args := range compareTargets() {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			for run := range 3 {
				c := runCompareJSON(t, args...)
				var cols []string
				for _, col := range c.Columns {
					cols = append(cols, col.Name)
				}
				if !strings.HasPrefix(cols[0], "raw") || !strings.Contains(strings.Join(cols, " "), "c") {
					t.Fatalf("run %d: columns %v, missing %v: no C column", run, cols, c.Missing)
				}
				checkRawCAligned(t, c, false)
				if rows := c.unexplainedRows("c"); rows != "" {
					t.Fatalf("run %d: unexplained differences from the C twin:\n%s", run, rows)
				}
			}
		})
	}
}

// compare takes the program's own flags after its name, and names what a
// program takes when given something else.
func TestCompareProgramFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tcp-echo-server", "--mode", "nope"}, "invalid --mode \"nope\" for tcp-echo-server"},
		{[]string{"--mode", "poll", "tcp-echo-server", "--mode", "select"}, "--mode poll before the program and --mode select after it"},
		{[]string{"udp-echo-client", "--mode", "fork"}, "in compare, udp-echo-client takes no flags of its own"},
		{[]string{"udp-echo-server", "--batch", "-1"}, "invalid --batch -1"},
		{[]string{"udp-echo-server", "--quiet"}, "in compare, udp-echo-server takes only --batch of its own flags"},
		{[]string{"tcp-echo-server", "7777"}, "expected 1 argument, got 2: compare picks the address, word and port itself"},
		{[]string{"tcp-slow-client", "--clients", "0"}, "invalid --clients 0"},
		{[]string{"udp-stress-client", "--clients", "21"}, "invalid --clients 21: compare traces 1 to 20 requests"},
		{[]string{"udp-stress-client", "--impl", "net"}, "in compare, udp-stress-client takes only --clients of its own flags"},
		{[]string{"nope", "--batch", "1"}, "unknown program \"nope\""},
	} {
		r := runCmd(t, 30*time.Second, socklab(append([]string{"compare"}, tc.args...)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("compare %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// --faithful belongs to one server and one mode: one line says so
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tcp-echo-server", "--mode", "poll", "--faithful"}, "--faithful needs --mode select: the tutorial's fragile server is the select one, not poll\n"},
		{[]string{"tcp-echo-server", "--faithful"}, "--faithful needs --mode select: the tutorial's fragile server is the select one, not iterative\n"},
		{[]string{"udp-lengthy-server", "--mode", "fork", "--faithful"}, "--faithful is tcp-echo-server's, with --mode select: udp-lengthy-server has no fragile version to compare\n"},
		{[]string{"tcp-slow-client", "--faithful"}, "--faithful is tcp-echo-server's, with --mode select: tcp-slow-client has no fragile version to compare\n"},
		{[]string{"tcp-echo-server", "--mode", "select", "--faithful", "--clients", "2"}, "flag provided but not defined: -clients: in compare, tcp-echo-server takes only --mode, --faithful of its own flags\n"},
	} {
		r := runCmd(t, 30*time.Second, socklab(append([]string{"compare"}, tc.args...)...)...)
		if r.code != 2 || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("compare %v: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	// compare's own flags may come after the program's name too
	if c := runCompareJSON(t, "udp-echo-server", "--batch", "4", "--word", "flags"); c.Columns[0].Name != "raw" {
		t.Errorf("compare udp-echo-server --batch 4 --word flags --json: columns %v", c.Columns)
	}
}

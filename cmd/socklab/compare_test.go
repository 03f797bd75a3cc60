package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

// needCompareTools skips (or fails, in CI) without strace and cc.
func needCompareTools(t *testing.T) {
	t.Helper()
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "a C compiler (apt-get install gcc)", err)
	}
}

// compareJSON is the part of compare --json the tests read.
type compareJSON struct {
	Program  string `json:"program"`
	Mode     string `json:"mode"`
	Faithful bool   `json:"faithful"`
	Columns  []struct {
		Name string   `json:"name"`
		Argv []string `json:"argv"`
	} `json:"columns"`
	Missing []struct {
		Name, Reason string
	} `json:"missing"`
	Rows []struct {
		Steps map[string]struct {
			Label, Key, Family, Call, Result string
			Loop                             *struct{ Times, Pos, Len int }
		}
		Differences []struct{ Twin, Kind, Family, Symbol, Known string }
	} `json:"rows"`
	Known []struct {
		ID, Twin, Why string
	} `json:"known"`
	Unexplained int `json:"unexplained"`
}

// unexplainedRows prints the rows that hold a difference of twin that
// the table does not explain, with each column's step, for a failure
// message; "" when there is none.
func (c compareJSON) unexplainedRows(twin string) string {
	var b strings.Builder
	for i, row := range c.Rows {
		for _, d := range row.Differences {
			if d.Known == "" && d.Twin == twin {
				fmt.Fprintf(&b, "row %d: %s %s %s %s;", i, d.Twin, d.Kind, d.Family, d.Symbol)
				for col, st := range row.Steps {
					fmt.Fprintf(&b, " %s: %s = %s;", col, st.Call, st.Result)
				}
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func runCompareJSON(t *testing.T, args ...string) compareJSON {
	t.Helper()
	r := runCmd(t, 60*time.Second, socklab(append([]string{"compare", "--json"}, args...)...)...)
	if r.code != 0 {
		t.Fatalf("compare --json %v: exit %d: %s", args, r.code, r.stderr)
	}
	var c compareJSON
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("compare --json %v: %v\n%s", args, err, r.stdout)
	}
	for _, row := range c.Rows {
		for col, s := range row.Steps {
			if s.Family == "socket" && strings.Contains(s.Call, "AF_NETLINK") {
				t.Errorf("%s opened a netlink socket: %s", col, s.Call)
			}
		}
	}
	return c
}

// has reports whether a difference of twin, kind and symbol was explained
// by known.
func (c compareJSON) has(twin, kind, family, symbol, known string) bool {
	for _, row := range c.Rows {
		for _, d := range row.Differences {
			if d.Twin == twin && d.Kind == kind && d.Family == family && (symbol == "" || d.Symbol == symbol) && d.Known == known {
				return true
			}
		}
	}
	return false
}

// both reports whether a row holds a step of family in raw and in c with
// no difference between them.
func (c compareJSON) both(family string) bool {
	for _, row := range c.Rows {
		raw, okr := row.Steps["raw"]
		cc, okc := row.Steps["c"]
		if !okr || !okc || raw.Family != family || cc.Family != family {
			continue
		}
		same := true
		for _, d := range row.Differences {
			same = same && d.Twin != "c"
		}
		if same {
			return true
		}
	}
	return false
}

// checkRawCAligned asserts that raw's and C's steps share every row and
// that no row differs between them without an explanation.
func checkRawCAligned(t *testing.T, c compareJSON, wantSame bool) {
	t.Helper()
	for i, row := range c.Rows {
		_, raw := row.Steps["raw"]
		_, cc := row.Steps["c"]
		for _, d := range row.Differences {
			if d.Twin == "c" && (wantSame || d.Known == "") {
				t.Errorf("row %d: raw and c differ (%s %s %s), explained by %q", i, d.Kind, d.Family, d.Symbol, d.Known)
			}
		}
		if wantSame && raw != cc {
			t.Errorf("row %d: raw and c not aligned: %v", i, row.Steps)
		}
	}
}

// The UDP echo client: the raw program's steps are its C twin's, row by
// row; the net twin's differences are the ones socklab's docs name, each
// explained; the text form says so too.
func TestCompareUDPEchoClient(t *testing.T) {
	needCompareTools(t)
	c := runCompareJSON(t, "udp-echo-client")
	var cols []string
	for _, col := range c.Columns {
		cols = append(cols, col.Name)
	}
	if strings.Join(cols, " ") != "raw net c" || len(c.Missing) != 0 {
		t.Fatalf("columns %v, missing %v; want raw net c", cols, c.Missing)
	}
	if len(c.Rows) < 4 {
		t.Fatalf("only %d rows", len(c.Rows))
	}
	checkRawCAligned(t, c, true)
	if c.Unexplained != 0 {
		t.Errorf("%d unexplained differences", c.Unexplained)
	}
	for _, want := range [][5]string{
		{"net", "twin flag", "socket", "SOCK_NONBLOCK", "net-nonblock"},
		{"net", "twin flag", "socket", "SOCK_CLOEXEC", "net-nonblock"},
		{"net", "twin only", "setsockopt", "SO_BROADCAST", "net-broadcast"},
		{"net", "twin only", "epoll_ctl", "", "net-epoll"},
		{"net", "twin only", "recvmsg", "", ""},
	} {
		if want[1] == "twin only" && want[2] == "recvmsg" {
			if !c.has("net", "twin only", "recvmsg", "", "net-io") && !c.has("net", "twin only", "recvmsg", "EAGAIN", "net-eagain") {
				t.Errorf("no explained recvmsg of the net twin")
			}
			continue
		}
		if !c.has(want[0], want[1], want[2], want[3], want[4]) {
			t.Errorf("no %v difference", want)
		}
	}

	r := runCmd(t, 60*time.Second, socklab("compare", "udp-echo-client")...)
	if r.code != 0 {
		t.Fatalf("compare udp-echo-client: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"raw and c: the same system calls in the same order",
		"raw and net:", "all explained",
		"SOCK_NONBLOCK", "SO_BROADCAST", "epoll_ctl(ep#1, sock#1, EPOLL_CTL_ADD)",
		"net-nonblock:", "net-broadcast:", "net-epoll:",
		"sets SO_BROADCAST on every UDP socket",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("compare output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "UNEXPLAINED") {
		t.Errorf("unexplained differences:\n%s", r.stdout)
	}
	t.Logf("\n%s", r.stdout)
}

// The servers: the raw program beside its C twin with nothing left
// unexplained, two columns where a mode has no net twin. The TCP servers'
// C twins stop as the raw ones do, by shutdown of the listening socket
// (select, poll and the blocking servers: in their signal handler; epoll:
// in main), so raw and C share the shutdown row; a UDP server's raw twin
// alone shuts its socket down (raw-shutdown).
func TestCompareServers(t *testing.T) {
	needCompareTools(t)
	for _, tc := range []struct {
		args []string
		cols string
	}{
		{[]string{"udp-echo-server"}, "raw net c"},
		{[]string{"tcp-echo-server", "--mode", "iterative"}, "raw net c"},
		{[]string{"tcp-echo-server", "--mode", "poll"}, "raw c"},
		{[]string{"tcp-echo-server", "--mode", "select"}, "raw c"},
		{[]string{"tcp-echo-server", "--mode", "epoll"}, "raw c"},
		{[]string{"tcp-echo-server", "--mode", "fork"}, "raw c"},       // child's block after its fork
		{[]string{"tcp-echo-server", "--mode", "thread"}, "raw net c"}, // connection's block after its accept
		{[]string{"udp-lengthy-server", "--mode", "fork"}, "raw c"},
		{[]string{"udp-lengthy-server", "--mode", "async"}, "raw c"}, // raw-rdhup
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := runCompareJSON(t, tc.args...)
			var cols []string
			for _, col := range c.Columns {
				cols = append(cols, col.Name)
			}
			if got := strings.Join(cols, " "); got != tc.cols {
				t.Fatalf("columns %q, want %q (missing %v)", got, tc.cols, c.Missing)
			}
			checkRawCAligned(t, c, false)
			// Every server, Go or C, is stopped by a shutdown of its socket.
			switch {
			case !c.both("shutdown"):
				t.Errorf("raw and c do not make the same shutdown")
			case c.has("c", "raw only", "shutdown", "", "raw-shutdown"):
				t.Errorf("a shutdown only the raw server makes")
			}
			if strings.Contains(tc.cols, "net") && !c.has("net", "twin flag", "socket", "SOCK_NONBLOCK", "net-nonblock") {
				t.Errorf("the net twin's SOCK_NONBLOCK is not shown explained")
			}
		})
	}
	r := runCmd(t, 60*time.Second, socklab("compare", "--mode", "poll", "tcp-echo-server")...)
	if r.code != 0 || !strings.Contains(r.stdout, "net  not shown: no net twin of this mode") {
		t.Errorf("compare --mode poll tcp-echo-server: exit %d, does not say the net twin is missing:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The tutorial's spinning select server beside its C twin: each column
// folds its spin into one round of the loop (select reports the client
// readable and writable, recvfrom returns 0), with its own count; the
// steps around the loop are the same, row by row; the text says what the
// counts are and why it spins.
func TestCompareSpinningServer(t *testing.T) {
	needCompareTools(t)
	c := runCompareJSON(t, "tcp-echo-server", "--mode", "select", "--faithful")
	if len(c.Columns) != 2 || c.Columns[0].Name != "raw" || c.Columns[1].Name != "c" || !c.Faithful {
		t.Fatalf("columns %+v, faithful %v; want raw and c of the faithful server", c.Columns, c.Faithful)
	}
	if argv := strings.Join(c.Columns[0].Argv[1:], " "); argv != "tcp-echo-server --mode select --faithful --clients 1 --idle 500ms --impl raw 0" {
		t.Errorf("raw argv %q", argv)
	}
	if argv := c.Columns[1].Argv[1:]; strings.Join(argv, " ") != "0 1 500" {
		t.Errorf("c argv %q, want port 0, 1 client, 500 ms", argv)
	}
	checkRawCAligned(t, c, false)
	var families []string
	for i, row := range c.Rows {
		raw, okr := row.Steps["raw"]
		cc, okc := row.Steps["c"]
		if !okr || !okc {
			t.Fatalf("row %d: raw and c not side by side: %+v", i, row.Steps)
		}
		if (raw.Loop == nil) != (cc.Loop == nil) || raw.Result != cc.Result && raw.Loop != nil {
			t.Errorf("row %d: raw %+v beside c %+v", i, raw, cc)
		}
		f := raw.Family
		if raw.Loop != nil {
			f = fmt.Sprintf("%s[%d/%d]", f, raw.Loop.Pos, raw.Loop.Len)
			if raw.Loop.Times < 2 || cc.Loop.Times < 2 {
				t.Errorf("row %d: a loop of %d and %d rounds", i, raw.Loop.Times, cc.Loop.Times)
			}
		}
		families = append(families, f)
	}
	want := "socket bind listen getsockname accept select recvfrom sendto " + // the echo
		"select[1/2] recvfrom[2/2] " + // the spin
		"select shutdown close " + // the idle round
		"accept shutdown close" // SIGTERM
	if got := strings.Join(families, " "); got != want {
		t.Fatalf("raw steps:\n%s\nwant\n%s", got, want)
	}
	if sel, recv := c.Rows[8].Steps["raw"], c.Rows[9].Steps["raw"]; sel.Result != "2 (in [sock#2], out [sock#2])" || recv.Result != "0" {
		t.Errorf("the loop's round: select = %s, recvfrom = %s", sel.Result, recv.Result)
	}
	if c.Unexplained != 0 {
		t.Errorf("%d unexplained differences", c.Unexplained)
	}

	r := runCmd(t, 60*time.Second, socklab("compare", "tcp-echo-server", "--mode", "select", "--faithful")...)
	for _, re := range []string{
		`(?m)^socklab compare tcp-echo-server --mode select --faithful: `,
		`(?m)^  Nx: a round of the loop made N times in a row`,
		`(?m)^  \d+x pselect6\(sock#2, sock#2\) = 2 +\d+x pselect6\(sock#2, sock#2\) = 2$`,
		`(?m)^Loops, each round shown once above`,
		`(?m)^  raw \d+x, c \d+x: pselect6\(sock#2, sock#2\) = 2 \(in \[sock#2\], out \[sock#2\]\); recvfrom\(sock#2\) = 0$`,
		`(?m)^  Why it spins: `,
		`(?m)^raw and c: 3 differences, all explained$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("compare output does not match %s:\n%s", re, r.stdout)
		}
	}
}

func TestCompareBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "expected 1 argument"},
		{[]string{"nope"}, "compare knows udp-echo-client, udp-echo-server, tcp-echo-client, tcp-echo-server, udp-lengthy-server"},
		{[]string{"--mode", "fork", "udp-echo-client"}, "udp-echo-client has no --mode"},
		{[]string{"--mode", "nope", "tcp-echo-server"}, "want one of " + strings.Join(tcpCompareModes(), ", ")},
		{[]string{"--mode", "forks", "udp-lengthy-server"}, "want one of iterative, thread, fork, fork-exec, async, prefork"},
		{[]string{"--timeout", "0", "udp-echo-client"}, "invalid --timeout 0"},
		{[]string{"--nope", "udp-echo-client"}, "flag provided but not defined"},
		{[]string{"udp-echo-client", "extra"}, "expected 1 argument, got 2"},
	} {
		r := runCmd(t, 10*time.Second, socklab(append([]string{"compare"}, tc.args...)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("compare %q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// Without strace on PATH: one line saying how to install it, exit 1.
func TestCompareWithoutStrace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, socklabBin, "compare", "udp-echo-client")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 || strings.Count(errb.String(), "\n") != 1 ||
		!strings.Contains(errb.String(), "apt-get install strace") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line naming apt-get install strace", code, out.String(), errb.String())
	}
}

// Interrupted while a server runs under strace, compare stops it with
// SIGTERM, reaps strace and exits 1 saying so; nothing it started lives on.
func TestCompareInterrupted(t *testing.T) {
	needCompareTools(t)
	cmd := exec.Command(socklabBin, "compare", "--mode", "iterative", "udp-lengthy-server")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); close(waited) }()
	defer func() {
		select {
		case <-waited:
		default: // a failed test
			cmd.Process.Kill()
			<-waited
		}
	}()
	// Wait for strace and the program it traces: compare's grandchild.
	var pids []int
	deadline := time.Now().Add(20 * time.Second)
	for len(pids) < 2 && time.Now().Before(deadline) {
		pids = pids[:0]
		for _, c := range proc.Children(cmd.Process.Pid) {
			if len(proc.Children(c)) > 0 {
				pids = append(pids, c, proc.Children(c)[0])
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	if len(pids) < 2 {
		t.Fatalf("compare started no traced program within 20s: %s", errb.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatal("compare did not exit within 20s of SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, errb.String())
	}
	for _, pid := range pids {
		if proc.Exists(pid) {
			t.Errorf("pid %d (strace or its tracee) still exists after compare exited", pid)
		}
	}
}

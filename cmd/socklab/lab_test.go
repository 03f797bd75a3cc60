package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/lab"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/udp"
)

// `socklab lab` with no arguments, the README's first command: every
// experiment, in under a minute. E0's exchange rows and, with strace, each
// client's system calls in order; a table for each of E1 to E4.
func TestLab(t *testing.T) {
	r := runCmd(t, 120*time.Second, socklab("lab", "--word", "lab word")...)
	if r.code != 0 {
		t.Fatalf("socklab lab: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("socklab lab took %v", r.elapsed)
	if r.elapsed > 60*time.Second {
		t.Errorf("socklab lab took %v; the issue promises under 60 s", r.elapsed)
	}
	for _, pair := range []string{"raw +raw", "raw +net", "net +raw", "net +net"} {
		if !regexp.MustCompile(`(?m)^  ` + pair + ` +Received: lab word +\d+\.\d{3} ms$`).MatchString(r.stdout) {
			t.Errorf("no exchange row %q in:\n%s", pair, r.stdout)
		}
	}
	for _, title := range []string{"E1 UDP lengthy action", "E2 TCP slow clients", "E3 idle connections", "E4 echo throughput"} {
		if !strings.Contains(r.stdout, "\n"+title) {
			t.Errorf("no %s table in:\n%s", title, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "failed") {
		t.Errorf("a row failed:\n%s", r.stdout)
	}
	if err := strace.Available(); err != nil {
		t.Logf("strace not installed; the system-call sections are not checked: %v", err)
		return
	}
	raw := section(r.stdout, "raw client")
	if got := callNames(raw); got != "socket sendto recvfrom close" {
		t.Errorf("raw client's calls: %q, want socket sendto recvfrom close:\n%s", got, raw)
	}
	net := section(r.stdout, "net client")
	if !strings.Contains(net, "SOCK_NONBLOCK") || !strings.Contains(net, "SO_BROADCAST") || !strings.Contains(net, "epoll_ctl(") {
		t.Errorf("net client's calls do not show its differences:\n%s", net)
	}
}

// E1 at a small scale: every mode in the table, each ratio its time over
// the delay, the iterative server about 20 times the limit and every
// concurrent one under 3 times; results.json parses and e1.svg is XML
// naming both series and every server.
func TestLabE1(t *testing.T) {
	dir := t.TempDir()
	r := runCmd(t, 60*time.Second, socklab("lab", "--only", "e1", "--scale", "0.02", "--out", dir)...)
	if r.code != 0 {
		t.Fatalf("socklab lab --only E1: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	res := readResults(t, dir)
	if res.E1 == nil || res.E2 != nil || res.E3 != nil || res.E4 != nil || res.E0 != "" {
		t.Fatalf("--only E1 ran %v", res.Ran)
	}
	if want := 0.1; math.Abs(res.E1.Delay-want) > 1e-9 {
		t.Errorf("delay %v s at scale 0.02, want %v (5 s x 0.02)", res.E1.Delay, want)
	}
	var names []string
	for _, row := range res.E1.Rows {
		name := row.Mode + "/" + row.Impl
		names = append(names, name)
		if row.Limit != res.E1.Delay {
			t.Errorf("%s: limit %v, want the delay %v", name, row.Limit, res.E1.Delay)
		}
		if math.Abs(row.Ratio-row.Seconds/row.Limit) > 1e-9 {
			t.Errorf("%s: ratio %v, want time/limit = %v", name, row.Ratio, row.Seconds/row.Limit)
		}
		if row.Replies != 20 || row.Error != "" {
			t.Errorf("%s: %d replies, error %q", name, row.Replies, row.Error)
		}
		switch {
		case row.Mode == "iterative" && (row.Ratio < 19.5 || row.Ratio > 23):
			t.Errorf("iterative: ratio %.2f, want about 20 (one request after another)", row.Ratio)
		case row.Mode != "iterative" && (row.Ratio < 1 || row.Ratio >= 3):
			t.Errorf("%s: ratio %.2f, want 1 to 3 (the requests overlap)", name, row.Ratio)
		}
		if !regexp.MustCompile(`(?m)^  ` + row.Mode + ` +` + row.Impl + ` +20/20 `).MatchString(r.stdout) {
			t.Errorf("no table row for %s in:\n%s", name, r.stdout)
		}
	}
	var want []string
	for _, m := range udp.Modes {
		want = append(want, m+"/raw")
		if m == "thread" {
			want = append(want, "thread/net")
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("E1 rows %v, want %v", names, want)
	}
	texts := svgTexts(t, filepath.Join(dir, "e1.svg"))
	for _, s := range append([]string{"completion time", "physical limit (the delay)"}, want...) {
		if !slices.Contains(texts, s) {
			t.Errorf("e1.svg has no text %q; it has %q", s, texts)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(report), "![E1](e1.svg)") || !strings.Contains(string(report), "| iterative | raw | 20/20 |") {
		t.Errorf("report.md: %v\n%s", err, report)
	}
}

// E2 and E3 with small sizes: every model's row, ratios against one
// client's dribble time, a point for each server and K, the plots' series.
func TestLabE2E3(t *testing.T) {
	dir := t.TempDir()
	r := runCmd(t, 60*time.Second, socklab("lab", "--only", "E3,E2", "--scale", "0.01", "--clients", "5",
		"--k", "10,40", "--duration", "100ms", "--out", dir)...)
	if r.code != 0 {
		t.Fatalf("socklab lab --only E2,E3: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if i, j := strings.Index(r.stdout, "E2 TCP"), strings.Index(r.stdout, "E3 idle"); i < 0 || j < i {
		t.Errorf("want the E2 table, then E3's:\n%s", r.stdout)
	}
	res := readResults(t, dir)
	if !slices.Equal(res.Ran, []string{"E2", "E3"}) {
		t.Errorf("ran %v, want E2 E3", res.Ran)
	}
	// "Hello world [4]", 15 bytes there and back at 1 ms
	if want := 2 * 15 * 0.001; math.Abs(res.E2.Limit-want) > 1e-9 {
		t.Errorf("E2 limit %v, want %v", res.E2.Limit, want)
	}
	var models []string
	for _, row := range res.E2.Rows {
		models = append(models, row.Model+"/"+row.Impl)
		if row.Error != "" || math.Abs(row.Ratio-row.Seconds/res.E2.Limit) > 1e-9 || row.Ratio < 1 {
			t.Errorf("E2 %s/%s: %+v", row.Model, row.Impl, row)
		}
		if row.Model == "iterative" && row.Ratio < 2 {
			t.Errorf("E2 iterative/%s: ratio %.2f, want about (5+1)/2", row.Impl, row.Ratio)
		}
	}
	if want := []string{"iterative/raw", "iterative/net", "fork/raw", "thread/raw", "thread/net", "select/raw",
		"select (faithful)/raw", "poll/raw", "epoll/raw"}; !slices.Equal(models, want) {
		t.Errorf("E2 rows %v, want %v", models, want)
	}
	if len(res.E3.Points) != 8 || len(res.E3.Skipped) != 0 {
		t.Errorf("E3: %d points, skipped %v; want 4 servers x 2 K", len(res.E3.Points), res.E3.Skipped)
	}
	for _, p := range res.E3.Points {
		if p.Error != "" || p.RoundTrips == 0 || p.P50 <= 0 || p.P99 < p.P50 {
			t.Errorf("E3 point %+v", p)
		}
	}
	texts := svgTexts(t, filepath.Join(dir, "e2.svg"))
	for _, s := range append([]string{"completion time", "one client's dribble time"}, models...) {
		if !slices.Contains(texts, s) {
			t.Errorf("e2.svg has no text %q", s)
		}
	}
	texts = svgTexts(t, filepath.Join(dir, "e3.svg"))
	for _, s := range []string{"select p50", "select p99", "poll p50", "epoll p50", "net p99", "K idle connections"} {
		if !slices.Contains(texts, s) {
			t.Errorf("e3.svg has no text %q; it has %q", s, texts)
		}
	}
}

func TestLabBadInput(t *testing.T) {
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"lab", "extra"}, "^expected 0 arguments, got 1\nUSAGE: socklab lab \\[flags\\]\n$"},
		{[]string{"lab", "--timeout", "0"}, "^invalid --timeout 0: the lab bounds every run; give a positive duration\n$"},
		{[]string{"lab", "--only", "E1,E9"}, "^invalid --only: unknown experiment \"E9\": want one or more of E0, E1, E2, E3, E4\n$"},
		{[]string{"lab", "--scale", "0"}, "^invalid --scale 0: want 0 < scale <= 1\n$"},
		{[]string{"lab", "--faithful", "--scale", "0.5"}, "^--faithful runs at scale 1; leave out --scale\n$"},
		{[]string{"lab", "--k", "10,x"}, "^invalid --k \"10,x\""},
		{[]string{"lab", "--clients", "0"}, "^invalid --clients 0"},
		{[]string{"lab", "--word", ""}, "^invalid --word \"\": want 1 to 200 bytes on one line\n$"},
	} {
		r := runCmd(t, 10*time.Second, socklab(c.args...)...)
		if r.code != 2 || !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
			t.Errorf("socklab %v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.stderr)
		}
	}
}

func readResults(t *testing.T, dir string) lab.Results {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res lab.Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	return res
}

// svgTexts decodes a whole SVG file as XML, failing the test if it is not
// well-formed, and returns the trimmed contents of its text elements.
func svgTexts(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var texts []string
	var inText bool
	sawSVG := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			sawSVG = sawSVG || tok.Name.Local == "svg"
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); inText && s != "" {
				texts = append(texts, s)
			}
		}
	}
	if !sawSVG {
		t.Fatalf("%s has no svg element", path)
	}
	return texts
}

// section returns the indented lines under the "  <name> (" heading.
func section(out, name string) string {
	_, rest, ok := strings.Cut(out, "\n  "+name+" (")
	if !ok {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n")[1:] {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	return strings.Join(lines, "\n")
}

func callNames(sec string) string {
	var names []string
	for _, l := range strings.Split(sec, "\n") {
		if name, _, ok := strings.Cut(l, "("); ok {
			names = append(names, name)
		}
	}
	return strings.Join(names, " ")
}

package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

// `socklab lab`, the README's first command: every client against every
// server, the replies right, and each client's system calls in order.
func TestLab(t *testing.T) {
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	r := runCmd(t, 60*time.Second, socklab("lab", "--word", "lab word")...)
	if r.code != 0 {
		t.Fatalf("socklab lab: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, pair := range []string{"raw +raw", "raw +net", "net +raw", "net +net"} {
		if !regexp.MustCompile(`(?m)^  ` + pair + ` +Received: lab word +\d+\.\d{3} ms$`).MatchString(r.stdout) {
			t.Errorf("no exchange row %q in:\n%s", pair, r.stdout)
		}
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

func TestLabBadInput(t *testing.T) {
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"lab", "extra"}, "^expected 0 arguments, got 1\nUSAGE: socklab lab \\[flags\\]\n$"},
		{[]string{"lab", "--timeout", "0"}, "^invalid --timeout 0: the lab bounds every run; give a positive duration\n$"},
	} {
		r := runCmd(t, 10*time.Second, socklab(c.args...)...)
		if r.code != 2 || !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
			t.Errorf("socklab %v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.stderr)
		}
	}
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

package main

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

// No subcommand ever opens an AF_NETLINK socket, whatever it does: every
// one is traced printing its help, and the programs are traced at work.
func TestNetlinkFree(t *testing.T) {
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	srv := startServer(t, socklab("udp-echo-server", "--quiet", "0")...)
	defer srv.stop(t, syscall.SIGTERM)
	port := strconv.Itoa(srv.Port)

	runs := [][]string{
		{"help"},
		{"lab"},
		{"udp-echo-client", "127.0.0.1", "netlink?", port},
		{"udp-echo-client", "--impl", "net", "localhost", "netlink?", port},
		{"udp-echo-client", "--impl", "net", "--timeout", "100ms", "127.0.0.1", "netlink?", "9"},
		// compare's own process; its strace cannot trace under this one (ptrace
		// does not nest), so compare_test checks the programs it traces.
		{"compare", "udp-echo-client"},
		{"capture", "--proto", "udp", "--port", port, "--timeout", "300ms"},
	}
	names := make([]string, 0, len(commands()))
	for name := range commands() {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		runs = append(runs, []string{name, "-h"})
	}
	for _, args := range runs {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		calls, out, _ := strace.Run(ctx, filepath.Join(t.TempDir(), "trace"), socklab(args...))
		cancel()
		checkNoNetlink(t, args, calls, out)
	}
	for _, args := range [][]string{
		{"udp-echo-server", "0"},
		{"udp-echo-server", "--impl", "net", "0"},
		{"udp-echo-server", "--batch", "4", "0"},
	} {
		idle := []string{"recvfrom"}
		switch args[1] {
		case "--impl":
			idle = []string{"epoll_pwait"}
		case "--batch":
			idle = []string{"recvmmsg"}
		}
		steps := traceServer(t, idle, socklab(args...))
		for _, s := range steps {
			if s.Family == "socket" && s.Arg(0) == "AF_NETLINK" {
				t.Errorf("socklab %v opened a netlink socket: %s", args, s.Call.String())
			}
		}
		if len(steps) == 0 || steps[0].Family != "socket" {
			t.Errorf("socklab %v: no socket call traced; the check is blind: %v", args, strace.Keys(steps))
		}
	}
}

func checkNoNetlink(t *testing.T, args []string, calls []strace.Call, out []byte) {
	t.Helper()
	if len(calls) == 0 {
		t.Errorf("socklab %v: empty trace; the check is blind (output %q)", args, out)
	}
	for _, c := range calls {
		if c.Name == "socket" && c.Arg(0) == "AF_NETLINK" {
			t.Errorf("socklab %v opened a netlink socket: %s", args, c.String())
		}
	}
}

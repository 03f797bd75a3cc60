// Command socklab runs the programs of "Programming Linux sockets, Part 2",
// re-implemented at the system-call level in Go, each beside its net-package
// twin, plus the tools that trace, capture and measure them.
//
// Run `socklab help` for the list of subcommands, `socklab CMD -h` for one.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/socklab/socklab/udp"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// command is one subcommand: its usage line, a one-line summary and the
// function that runs it. A run function returns nil, a *usageError
// (exit 2) or any other error (exit 1).
type command struct {
	usage   string // after "socklab NAME "
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"udp-echo-server":    {"[flags] <port>", "UDP echo server (tutorial section 5)", serving(runUDPEchoServer)},
		"udp-echo-client":    {"[flags] <server_ip> <word> <port>", "UDP echo client (tutorial section 4)", runUDPEchoClient},
		"udp-lengthy-server": {"[flags] <port>", "UDP server with a lengthy action, in every concurrency model (section 6)", serving(runUDPLengthyServer)},
		"udp-stress-client":  {"[flags] <server> <word> <port>", "fires N requests at once and times them (section 6)", runUDPStressClient},
		"tcp-echo-server":    {"[flags] <port>", "TCP echo server in every model: iterative, fork, thread, select, poll, epoll (section 6)", serving(runTCPEchoServer)},
		"tcp-echo-client":    {"[flags] <server_ip> <word> <port>", "TCP echo client", runTCPEchoClient},
		"tcp-slow-client":    {"[flags] <server> <word> <port>", "N connections dribbling a byte at a time (section 6)", runTCPSlowClient},
		"lab":                {"[flags]", "run the tutorial's programs side by side and show their system calls", runLab},
		"bench":              {"[flags] udp|tcp <server_ip> <port>", "load an echo server: msg/s, bytes/s, latency percentiles, every echo checked", runBench},
		"compare":            {"[flags] <program>", "trace the raw program, its net twin and its C twin side by side", runCompare},
		"capture":            {"[flags]", "capture loopback frames without libpcap or netlink, tcpdump-style; -w writes a pcap", runCapture},
		"ping":               {"[flags] <ip>", "ICMP echo over a raw socket or the kernel's ping socket (Stevens ch. 28)", runPing},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == udp.RoleChild || args[0] == udp.RoleWorker) {
		return runLengthyRole(args[0], args[1:], stderr) // a re-exec'd child, not a command
	}
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		w := stdout
		code := 0
		if len(args) == 0 {
			w, code = stderr, 2
		}
		topUsage(w, cmds)
		return code
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "socklab: unknown command %q; run 'socklab help' for the list\n", args[0])
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, ue.msg)
		if ue.showUsage {
			fmt.Fprintf(stderr, "USAGE: socklab %s %s\n", args[0], c.usage)
		}
		return 2
	default:
		fmt.Fprintln(stderr, perror(err))
		return 1
	}
}

func topUsage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "USAGE: socklab <command> [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-17s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'socklab <command> -h' for a command's flags and examples.")
}

// perror formats a runtime error the way perror(3) does: the program's
// message, a colon, and the system's reason, without Go's "bind: " prefix
// ("Failed to bind server socket: address already in use"). Joined
// errors (one a failed connection or client) get a line part each,
// joined by "; ".
func perror(err error) string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var parts []string
		for _, e := range j.Unwrap() {
			parts = append(parts, perror(e))
		}
		return strings.Join(parts, "; ")
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return strings.Replace(err.Error(), se.Error(), se.Err.Error(), 1)
	}
	return err.Error()
}

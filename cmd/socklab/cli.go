package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct {
	msg       string
	showUsage bool // also print the USAGE line
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// cmdFlags is a subcommand's flag set and its -h text.
type cmdFlags struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set whose -h output is the command's usage text:
// the usage line, what it mirrors, the flags and two examples. A mistake in
// the flags gets its one-line reason and the USAGE line only (see parse).
func newFlags(name, usage, about string, examples []string, stdout io.Writer) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on every error, not only -h
	help := func() {
		fmt.Fprintf(stdout, "USAGE: socklab %s %s\n\n%s\n\nFlags:\n", name, usage, about)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintln(stdout, "\nExamples:")
		for _, e := range examples {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
	}
	return &cmdFlags{FlagSet: fs, help: help}
}

// parse parses flags placed anywhere among the positional arguments and
// checks the number of positional ones. "--" ends the flags. A negative
// number ("-1") is taken as a positional argument, so that a bad port gets
// its own message rather than "flag provided but not defined". A negative
// want takes any number.
func parse(fs *cmdFlags, args []string, want int) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		if !isFlag(args[0]) {
			pos = append(pos, args[0])
			args = args[1:]
			continue
		}
		end := len(args) // the run of flags stops before "--" or a negative number
		for j := 1; j < len(args); j++ {
			if args[j] == "--" || isNegative(args[j]) && !takesValue(fs, args[j-1]) {
				end = j
				break
			}
		}
		if err := fs.Parse(args[:end]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, err
			}
			return nil, &usageError{msg: err.Error(), showUsage: true}
		}
		args = append(append([]string(nil), fs.Args()...), args[end:]...)
	}
	if want >= 0 && len(pos) != want {
		noun := "arguments"
		if want == 1 {
			noun = "argument"
		}
		return nil, &usageError{msg: fmt.Sprintf("expected %d %s, got %d", want, noun, len(pos)), showUsage: true}
	}
	return pos, nil
}

// takesValue reports whether a is a flag whose value is the next argument
// (--delay -5s), so that a negative value is parsed as the flag's.
func takesValue(fs *cmdFlags, a string) bool {
	if !isFlag(a) || strings.Contains(a, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(a, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

func isNegative(a string) bool { return len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' }

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && !isNegative(a) }

// parsePort reads a port argument. Servers accept 0 (the kernel picks one
// and the server reports it); clients need the server's real port.
func parsePort(s string, allowZero bool) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 || strings.HasPrefix(s, "+") {
		if allowZero {
			return 0, usagef("invalid port %q: want a number from 0 (any free port) to 65535", s)
		}
		return 0, usagef("invalid port %q: want a number from 1 to 65535", s)
	}
	if p == 0 && !allowZero {
		return 0, usagef("invalid port %q: a client needs the server's port, 1 to 65535", s)
	}
	return p, nil
}

// checkImpl validates --impl.
func checkImpl(impl string) error {
	if impl != "raw" && impl != "net" {
		return usagef("invalid --impl %q: want raw or net", impl)
	}
	return nil
}

// stopSignals stop every server and long run cleanly: SIGHUP too, so
// that a closed terminal does not kill a server with no cleanup and leave
// a fork server's children behind.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// rawAddr parses a client's server address for --impl raw (the
// positional argument name): a dotted quad only, with no name lookup, as
// the C twins' inet_addr(3) takes it.
func rawAddr(name, s string) ([4]byte, error) {
	addr, err := sys.InetAddr(s)
	if err != nil {
		return addr, usagef("invalid %s %q: the raw client takes a dotted-quad IPv4 address and does no name lookup (--impl net resolves names)", name, s)
	}
	return addr, nil
}

// printEcho prints an echo client's reply, and fails when it is not the
// word sent.
func printEcho(stdout io.Writer, reply, word string) error {
	fmt.Fprintf(stdout, "Received: %s\n", reply)
	if reply != word {
		return errors.New("Reply differs from the word sent")
	}
	return nil
}

// checkDuration validates a duration flag that may not be negative.
func checkDuration(name string, d time.Duration) error {
	if d < 0 {
		return usagef("invalid --%s %v: must not be negative", name, d)
	}
	return nil
}

// announce tells, on stderr, the port the kernel chose when a server was
// given port 0, in the one form the C twins print too and the tests,
// compare and lab read (proc.ListeningPort).
func announce(stderr io.Writer, asked, bound int) {
	if asked == 0 {
		fmt.Fprintf(stderr, "Listening on port %d\n", bound)
	}
}

// guardFlags defines a UDP server's loop-guard flags, --no-loop-guard and
// --rate, and returns the function that validates them once parsed. The
// guard's Port is the bound port, which the caller sets after Listen.
func guardFlags(fs *cmdFlags) func() (udp.LoopGuard, error) {
	off := fs.Bool("no-loop-guard", false, "answer every datagram, as the tutorial does: no refusal of reserved source ports (below 1024), of the server's own port or of broadcast and multicast sources (CVE-1999-0103)")
	rate := fs.Int("rate", 0, fmt.Sprintf("at most N replies a second to one source address, 0 (no bound) to %d; more are dropped and counted", udp.MaxRate))
	return func() (udp.LoopGuard, error) {
		if *rate < 0 || *rate > udp.MaxRate {
			return udp.LoopGuard{}, usagef("invalid --rate %d: want 0 (no bound) to %d", *rate, udp.MaxRate)
		}
		if *off && *rate > 0 {
			return udp.LoopGuard{}, usagef("--rate is part of the loop guard, which --no-loop-guard turns off")
		}
		return udp.LoopGuard{Off: *off, Rate: *rate}, nil
	}
}

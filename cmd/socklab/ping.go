package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/socklab/socklab/icmp"
	"github.com/socklab/socklab/sys"
)

func runPing(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ping", "[flags] <ip>",
		"ICMP echo (Stevens, UNP chapter 28), printed as iputils ping prints it. The raw\n"+
			"socket needs CAP_NET_RAW; --unprivileged uses the kernel's ping socket\n"+
			"(SOCK_DGRAM, allowed by net.ipv4.ping_group_range), which picks the identifier.\n"+
			"Every reply's checksum, identifier, sequence and data are checked; what fails\n"+
			"is counted and ignored. C twin: icmp/testdata/ping.c. The raw program takes a\n"+
			"dotted quad only; --impl net also resolves names. Loopback (127.0.0.0/8) only,\n"+
			"unless --allow-remote. SIGINT prints the summary. Exit 1 if no reply came back.\n"+
			"-i and -W take seconds (0.2) or a duration (200ms).",
		[]string{"socklab ping -c 3 127.0.0.1", "socklab ping --unprivileged --impl net -c 5 -i 0.2 -s 1000 127.0.0.1"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (golang.org/x/net/icmp)")
	count := fs.Int("c", 0, fmt.Sprintf("stop after `count` requests, 1 to %d (default: until SIGINT, at most %d)", icmp.MaxCount, icmp.MaxCount))
	interval := seconds(icmp.DefaultInterval)
	fs.Var(&interval, "i", fmt.Sprintf("wait `seconds` between requests, %v to %v", icmp.MinInterval, icmp.MaxInterval))
	size := fs.Int("s", icmp.DefaultSize, fmt.Sprintf("send `size` data bytes in each request, 0 to %d", icmp.MaxSize))
	timeout := seconds(icmp.DefaultTimeout)
	fs.Var(&timeout, "W", fmt.Sprintf("after the last request, wait `seconds` for missing replies, %v to %v", icmp.MinTimeout, icmp.MaxTimeout))
	unprivileged := fs.Bool("unprivileged", false, "use the ping socket (SOCK_DGRAM, IPPROTO_ICMP) instead of a raw one")
	allowRemote := fs.Bool("allow-remote", false, "allow a destination outside 127.0.0.0/8 (a host you own)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	switch {
	case isSet(fs, "c") && (*count < 1 || *count > icmp.MaxCount):
		return usagef("invalid -c %d: want 1 to %d", *count, icmp.MaxCount)
	case time.Duration(interval) < icmp.MinInterval || time.Duration(interval) > icmp.MaxInterval:
		return usagef("invalid -i %v: want %v to %v", time.Duration(interval), icmp.MinInterval, icmp.MaxInterval)
	case *size < 0 || *size > icmp.MaxSize:
		return usagef("invalid -s %d: want 0 to %d (65535 less the IPv4 and ICMP headers)", *size, icmp.MaxSize)
	case time.Duration(timeout) < icmp.MinTimeout || time.Duration(timeout) > icmp.MaxTimeout:
		return usagef("invalid -W %v: want %v to %v", time.Duration(timeout), icmp.MinTimeout, icmp.MaxTimeout)
	}
	dst, err := pingTarget(pos[0], *impl, *allowRemote)
	if err != nil {
		return err
	}
	cfg := icmp.Config{Count: *count, Interval: time.Duration(interval), Size: *size, Timeout: time.Duration(timeout),
		Unprivileged: *unprivileged, Name: pos[0], AllowRemote: *allowRemote, Out: stdout}

	// Caught from here on, so that a signal during setup stops cleanly too.
	sigctx, release := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer release()

	var st icmp.Stats
	if *impl == "net" {
		conn, ident, err := icmp.ListenNet(*unprivileged)
		if err != nil {
			return err
		}
		defer conn.Close()
		defer context.AfterFunc(sigctx, func() { conn.Close() })()
		st, err = icmp.PingNet(conn, ident, dst, cfg)
		if err != nil {
			return err
		}
	} else {
		sock, ident, err := icmp.Open(*unprivileged)
		if err != nil {
			return err
		}
		defer sys.Close(sock)
		defer context.AfterFunc(sigctx, func() { icmp.Stop(sock) })()
		st, err = icmp.Ping(sock, ident, dst.As4(), cfg)
		if err != nil {
			return err
		}
	}
	if st.Received == 0 {
		return fmt.Errorf("%w from %s", icmp.ErrNoReply, dst)
	}
	return nil
}

// pingTarget parses the destination: a dotted quad for the raw program (no
// name lookup, as its C twin), a literal or a name for the net twin, and
// refuses an address outside 127.0.0.0/8 without --allow-remote.
func pingTarget(s, impl string, allowRemote bool) (netip.Addr, error) {
	var dst netip.Addr
	if impl == "raw" {
		a, err := sys.InetAddr(s)
		if err != nil {
			return dst, usagef("invalid destination %q: the raw ping takes a dotted-quad IPv4 address and does no name lookup (--impl net resolves names)", s)
		}
		dst = netip.AddrFrom4(a)
	} else {
		a, err := icmp.ResolveNet(s)
		if err != nil {
			return dst, usagef("invalid destination %q: %v", s, err)
		}
		dst = a
	}
	if !dst.IsLoopback() && !allowRemote {
		return dst, usagef("refusing to ping %s: not a loopback address (127.0.0.0/8); pass --allow-remote for a host you own", dst)
	}
	return dst, nil
}

// isSet reports whether flag name was given.
func isSet(fs *cmdFlags, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// seconds is a duration flag that also takes iputils' plain seconds:
// -i 0.2 is -i 200ms.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		*s = seconds(d)
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(v, "xXpP") {
		return errors.New("want seconds (0.2) or a duration (200ms)")
	}
	if math.Abs(f) > float64(time.Hour/time.Second) {
		f = math.Copysign(float64(time.Hour/time.Second), f) // out of bounds either way; keeps the message readable
	}
	*s = seconds(time.Duration(f * float64(time.Second)))
	return nil
}

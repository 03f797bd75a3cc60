package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/capture"
)

// capturePoll is how long one wait for a frame lasts before the loop looks
// at the signals and the deadline again.
const capturePoll = 100 * time.Millisecond

// previewBytes is how much of a frame's payload its line shows.
const previewBytes = 24

func runCapture(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("capture", "[flags]",
		"Captures the IPv4 frames of an interface the way tcpdump does, without libpcap\n"+
			"and without netlink: an AF_PACKET socket, the filter compiled to classic BPF and\n"+
			"run in the kernel, loopback's duplicate outgoing copies dropped, the interface\n"+
			"index from ioctl(SIOCGIFINDEX). Prints each frame as one tcpdump -nn line and a\n"+
			"preview of its payload (-v: the IPv4 header's fields first, as tcpdump -v); -w also\n"+
			"writes a pcap file that tcpdump -r reads. --proto icmp shows echo requests and\n"+
			"replies, unreachables and the like, as tcpdump names them. Stops\n"+
			"after -c frames, after --timeout, or on SIGINT, SIGTERM or SIGHUP (exit 0, the file flushed).\n"+
			"Needs CAP_NET_RAW (root, or setcap cap_net_raw+ep on the binary).",
		[]string{"socklab capture --proto udp --port 7777 -c 10 -w echo.pcap", "socklab capture --proto icmp -v --timeout 5s"}, stdout)
	iface := fs.String("i", "lo", "the interface to capture on")
	proto := fs.String("proto", "any", "udp, tcp, icmp or any")
	verbose := fs.Bool("v", false, "print the IPv4 header's fields (tos, ttl, id, offset, flags, protocol, length, a bad checksum) before each frame, as tcpdump -v")
	port := fs.Int("port", 0, "keep only frames from or to this port (0: every port)")
	count := fs.Int("c", 0, "stop after this many frames (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: run until SIGINT, SIGTERM or SIGHUP)")
	file := fs.String("w", "", "also write the frames to this pcap file")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	filter := capture.Filter{Port: *port}
	switch *proto {
	case "udp":
		filter.Proto = capture.UDP
	case "tcp":
		filter.Proto = capture.TCP
	case "icmp":
		filter.Proto = capture.ICMP
	case "any":
		filter.Proto = capture.Any
	default:
		return usagef("invalid --proto %q: want udp, tcp, icmp or any", *proto)
	}
	if *port < 0 || *port > 65535 {
		return usagef("invalid --port %d: want 1 to 65535, or 0 for every port", *port)
	}
	if *port != 0 && filter.Proto == capture.ICMP {
		return usagef("--port needs --proto udp, tcp or any: ICMP has no ports")
	}
	if *count < 0 {
		return usagef("invalid -c %d: must not be negative", *count)
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	if *iface == "" || len(*iface) >= unix.IFNAMSIZ {
		return usagef("invalid -i %q: an interface name has 1 to %d bytes", *iface, unix.IFNAMSIZ-1)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)

	c, err := capture.Open(*iface, filter)
	if err != nil {
		return captureOpenError(err, *iface)
	}
	defer c.Close()
	var pcap *capture.Writer
	var buf *bufio.Writer
	if *file != "" {
		f, err := os.Create(*file)
		if err != nil {
			return fmt.Errorf("Failed to create the pcap file: %w", err)
		}
		defer f.Close()
		buf = bufio.NewWriter(f)
		if pcap, err = capture.NewWriter(buf); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "listening on %s (%s), snaplen %d\n", *iface, filter, capture.Snaplen)

	n, err := captureLoop(c, pcap, stdout, sigs, *count, *timeout, *verbose)
	if buf != nil { // also after an error: keep what was captured
		if ferr := buf.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("Failed to write the pcap file: %w", ferr)
		}
	}
	fmt.Fprintf(stderr, "%d frames captured\n", n)
	return err
}

// captureLoop prints (and writes) frames until count, the timeout or a
// signal, and returns how many it took.
func captureLoop(c *capture.Capture, pcap *capture.Writer, stdout io.Writer, sigs <-chan os.Signal, count int, timeout time.Duration, verbose bool) (int, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	n := 0
	for count == 0 || n < count {
		select {
		case <-sigs:
			return n, nil
		default:
		}
		wait := capturePoll
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return n, nil
			}
			wait = min(wait, left)
		}
		f, err := c.Next(wait)
		if errors.Is(err, capture.ErrTimeout) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
		line := f.String()
		if verbose {
			line = f.Verbose()
		}
		fmt.Fprintln(stdout, line+preview(f))
		if pcap != nil {
			if err := pcap.WriteFrame(f); err != nil {
				return n, fmt.Errorf("Failed to write the pcap file: %w", err)
			}
		}
	}
	return n, nil
}

// preview is the start of the frame's UDP or TCP payload, quoted, or "".
func preview(f capture.Frame) string {
	if f.Packet == nil || f.Packet.TransportLayer() == nil {
		return ""
	}
	p := f.Packet.TransportLayer().LayerPayload()
	switch {
	case len(p) == 0:
		return ""
	case len(p) > previewBytes:
		return " " + strconv.Quote(string(p[:previewBytes])) + "..."
	}
	return " " + strconv.Quote(string(p))
}

// captureOpenError turns capture.Open's failure into one line: the missing
// capability and how to grant it, the unknown interface, or the reason.
func captureOpenError(err error, iface string) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		self := "socklab"
		if exe, xerr := os.Executable(); xerr == nil {
			self = exe
		}
		return fmt.Errorf("Failed to open a packet socket: capturing needs CAP_NET_RAW; run as root, or grant it once with: sudo setcap cap_net_raw+ep %s", self)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("Failed to capture on %s: no such interface (SIOCGIFINDEX: %w)", iface, unix.ENODEV)
	}
	return fmt.Errorf("Failed to capture on %s: %w", iface, err)
}

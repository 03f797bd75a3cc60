package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// The echo-loop guard (udp/guard.go, udp/testdata/common.h), proven on
// the wire: in a private network namespace, one datagram forged with a
// raw socket starts the loop of CVE-1999-0103, and a capture of lo counts
// what follows. Every UDP server, raw, net and C alike.

// guardOpts are a loop guard's settings, as flags for socklab and as the
// environment for a C twin.
type guardOpts struct {
	off  bool
	rate int
}

type guardServer struct {
	name string
	// argv is the command line serving on port with opts; env is added
	// to the environment.
	argv func(t testing.TB, opts guardOpts, port int) (argv, env []string)
}

func goGuardServer(name string, args ...string) guardServer {
	return guardServer{name, func(_ testing.TB, o guardOpts, port int) ([]string, []string) {
		a := append([]string{}, args...)
		if o.off {
			a = append(a, "--no-loop-guard")
		}
		if o.rate > 0 {
			a = append(a, "--rate", strconv.Itoa(o.rate))
		}
		return socklab(append(a, "--quiet", strconv.Itoa(port))...), nil
	}}
}

// cGuardServer is a C twin; extra follows the port (the delay, a bound).
func cGuardServer(name, src string, pthread bool, extra ...string) guardServer {
	return guardServer{name, func(t testing.TB, o guardOpts, port int) ([]string, []string) {
		bin := ""
		if pthread {
			bin = cBinaryPthread(t, src)
		} else {
			bin = cBinary(t, src)
		}
		env := []string{"SOCKLAB_QUIET=1"}
		if o.off {
			env = append(env, "SOCKLAB_NO_LOOP_GUARD=1")
		}
		if o.rate > 0 {
			env = append(env, "SOCKLAB_RATE="+strconv.Itoa(o.rate))
		}
		return append([]string{bin, strconv.Itoa(port)}, extra...), env
	}}
}

var guardServers = []guardServer{
	goGuardServer("echo/raw", "udp-echo-server"),
	goGuardServer("echo/net", "udp-echo-server", "--impl", "net"),
	goGuardServer("echo/batch", "udp-echo-server", "--batch", "8"),
	cGuardServer("echo/c", "udp/testdata/echo_server.c", false),
	cGuardServer("echo/batch/c", "udp/testdata/echo_server_batch.c", false, "8"),
	goGuardServer("lengthy/iterative", "udp-lengthy-server", "--delay", "0s"),
	goGuardServer("lengthy/thread", "udp-lengthy-server", "--mode", "thread", "--delay", "0s"),
	goGuardServer("lengthy/thread/net", "udp-lengthy-server", "--mode", "thread", "--impl", "net", "--delay", "0s"),
	goGuardServer("lengthy/fork", "udp-lengthy-server", "--mode", "fork", "--delay", "0s"),
	goGuardServer("lengthy/fork-exec", "udp-lengthy-server", "--mode", "fork-exec", "--delay", "0s"),
	goGuardServer("lengthy/async", "udp-lengthy-server", "--mode", "async", "--delay", "0s"),
	goGuardServer("lengthy/prefork", "udp-lengthy-server", "--mode", "prefork", "--workers", "2", "--delay", "0s"),
	cGuardServer("lengthy/iterative/c", "udp/testdata/lengthy_iterative.c", false, "0"),
	cGuardServer("lengthy/thread/c", "udp/testdata/lengthy_thread.c", true, "0"),
	cGuardServer("lengthy/fork/c", "udp/testdata/lengthy_fork.c", false, "0"),
	cGuardServer("lengthy/fork-exec/c", "udp/testdata/lengthy_forkexec.c", false, "0"),
	cGuardServer("lengthy/async/c", "udp/testdata/lengthy_async.c", false, "0"),
	cGuardServer("lengthy/prefork/c", "udp/testdata/lengthy_prefork.c", false, "0", "2"),
}

// loopNet is a network namespace with two servers of one program, a raw
// socket to forge datagrams with and a capture of lo, all made inside it.
type loopNet struct {
	a, b  *proc.Server
	raw   int
	cap   *capture.Capture
	probe int // a UDP socket on an ephemeral port, to ask a server if it serves
}

// Two ports of the kind the loop guard knows at sight: the reserved echo
// and chargen ports, which the tutorial's attack names.
const (
	guardPortA = 7
	guardPortB = 19
)

// startLoopNet starts s twice, on portA and portB (0: the kernel picks),
// in a new network namespace. The namespace's thread waits, locked, for
// the end of the test: the servers die with it (Pdeathsig).
func startLoopNet(t *testing.T, s guardServer, opts guardOpts, portA, portB int) *loopNet {
	t.Helper()
	l := &loopNet{raw: -1, probe: -1}
	argvA, envA := s.argv(t, opts, portA) // built here: the C compiler may skip the test
	argvB, envB := s.argv(t, opts, portB)
	release := make(chan struct{})
	t.Cleanup(func() {
		for _, srv := range []*proc.Server{l.a, l.b} {
			if srv != nil {
				srv.Kill()
			}
		}
		close(release)
		if l.cap != nil {
			l.cap.Close()
		}
		for _, fd := range []int{l.raw, l.probe} {
			if fd >= 0 {
				sys.Close(fd)
			}
		}
	})
	inside := false
	ready := make(chan error, 1)
	go netns.Do(func() error {
		inside = true
		err := l.setup(s.name, argvA, envA, portA, argvB, envB, portB)
		ready <- err
		if err == nil {
			<-release
		}
		return nil
	})
	err := <-ready
	switch {
	case err == nil:
	case !inside && errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_SYS_ADMIN", err)
	case errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_NET_RAW", err)
	default:
		t.Fatal(err)
	}
	return l
}

// setup opens the sockets, starts the servers and opens the capture, on
// the namespace's thread.
func (l *loopNet) setup(name string, argvA, envA []string, portA int, argvB, envB []string, portB int) error {
	var err error
	if l.raw, err = sys.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		return err
	}
	if l.probe, err = sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP); err != nil {
		return err
	}
	if err := sys.SetsockoptTimeval(l.probe, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 100*time.Millisecond); err != nil {
		return err
	}
	if l.a, err = l.start(name, argvA, envA, portA); err != nil {
		return err
	}
	if l.b, err = l.start(name, argvB, envB, portB); err != nil {
		return err
	}
	l.cap, err = capture.Open("lo", capture.Filter{Proto: capture.UDP, Port: l.a.Port})
	return err
}

// start runs argv, serving on port; for a fixed port, it is serving once
// it answers the probe socket.
func (l *loopNet) start(name string, argv, env []string, port int) (*proc.Server, error) {
	if port == 0 {
		return proc.Start(context.Background(), name, argv, env)
	}
	to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, port)
	return proc.StartAt(context.Background(), name, argv, env, port, func() bool {
		if _, err := sys.Sendto(l.probe, []byte("ready?"), 0, &to); err != nil {
			return false
		}
		var p [16]byte
		n, err := sys.Recvfrom(l.probe, p[:], 0, nil, nil)
		return err == nil && strings.EqualFold(string(p[:max(n, 0)]), "ready?")
	})
}

// forge sends one UDP datagram from src:sport to 127.0.0.1:dport, its
// IPv4 header built here (IPPROTO_RAW implies IP_HDRINCL).
func (l *loopNet) forge(t *testing.T, src [4]byte, sport, dport int, payload string) {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src[:], DstIP: []byte{127, 0, 0, 1}}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if _, err := sys.Sendto(l.raw, buf.Bytes(), 0, &to); err != nil {
		t.Fatalf("forging %v:%d > 127.0.0.1:%d: %v", src, sport, dport, err)
	}
}

// count counts the datagrams to or from server a that cross lo within d,
// and fails at one whose payload is not n bytes long: a reply never
// carries more than its request.
func (l *loopNet) count(t *testing.T, d time.Duration, n int) (frames int, replies int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return frames, replies
		}
		f, err := l.cap.Next(left)
		if errors.Is(err, capture.ErrTimeout) {
			return frames, replies
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		u, _ := f.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil {
			t.Fatalf("not a UDP frame: %v", f)
		}
		if len(u.Payload) != n {
			t.Fatalf("datagram %d: %d bytes of payload, want the request's %d: %v", frames, len(u.Payload), n, f)
		}
		if int(u.SrcPort) == l.a.Port {
			replies++
		}
	}
}

// stop stops both servers with SIGTERM, as a storm goes on, and returns
// what they printed.
func (l *loopNet) stop(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	for _, s := range []*proc.Server{l.a, l.b} {
		state, err := s.Stop(syscall.SIGTERM)
		if err != nil {
			t.Fatal(err)
		}
		if err := proc.StoppedWell(state); err != nil {
			t.Errorf("%s on port %d: %v: %s", s.Name, s.Port, err, s.Out.Tail())
		}
		fmt.Fprintf(&out, "port %d: %s\n", s.Port, s.Out.String())
	}
	return out.String()
}

var localhost = [4]byte{127, 0, 0, 1}

// refusals sums the loop guard's reports in out by reason: "reserved
// port", "own port", "bad source", "over rate". A prefork server's
// workers report each for itself.
func refusals(out string) map[string]int {
	sums := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		_, counts, ok := strings.Cut(line, "Loop guard refused ")
		if !ok {
			continue
		}
		_, counts, _ = strings.Cut(counts, "(")
		counts, _, _ = strings.Cut(counts, ")")
		for _, c := range strings.Split(counts, ", ") {
			i := strings.LastIndexByte(c, ' ')
			n, err := strconv.Atoi(c[i+1:])
			if i < 0 || err != nil {
				continue
			}
			sums[c[:i]] += n
		}
	}
	return sums
}

// A forged datagram from one server's port to another's, both reserved,
// is refused by the first; so is one forged from the server itself, and
// a broadcast or multicast source is not answered. With the guard off
// the two servers answer each other until they are stopped.
func TestLoopGuardReservedPorts(t *testing.T) {
	for _, s := range guardServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			l := startLoopNet(t, s, guardOpts{}, guardPortA, guardPortB)
			l.forge(t, localhost, guardPortB, guardPortA, "loop")
			if frames, _ := l.count(t, time.Second, 4); frames > 2 {
				t.Errorf("%d datagrams in 1 s after one forged between ports %d and %d, want at most 2", frames, guardPortA, guardPortB)
			}
			// The server's own address and port as the source.
			l.forge(t, localhost, guardPortA, guardPortA, "self")
			if frames, replies := l.count(t, 300*time.Millisecond, 4); frames != 1 || replies != 1 {
				t.Errorf("forged from itself: %d datagrams, %d from the server's port, want only the forged one", frames, replies)
			}
			// A multicast source is refused by the guard, the directed
			// broadcast by the kernel (EACCES: no SO_BROADCAST).
			l.forge(t, [4]byte{224, 0, 0, 1}, 40000, guardPortA, "mcst")
			l.forge(t, [4]byte{127, 255, 255, 255}, 40000, guardPortA, "bcst")
			if frames, replies := l.count(t, 300*time.Millisecond, 4); frames != 2 || replies != 0 {
				t.Errorf("forged from broadcast and multicast sources: %d datagrams, %d from the server, want only the 2 forged", frames, replies)
			}
			out := l.stop(t)
			if got := refusals(out); got["reserved port"] != 2 || got["bad source"] != 1 || len(got) != 2 {
				t.Errorf("refusals %v, want reserved port 2 (from ports %d and %d), bad source 1:\n%s", got, guardPortB, guardPortA, out)
			}
		})
		t.Run(s.name+"/no-loop-guard", func(t *testing.T) {
			t.Parallel()
			l := startLoopNet(t, s, guardOpts{off: true}, guardPortA, guardPortB)
			l.forge(t, localhost, guardPortB, guardPortA, "loop")
			// 10 is 5 times what the guard lets through, and a hop of 50 ms:
			// the slowest server, fork-exec, re-executes socklab for each.
			frames, _ := l.count(t, 500*time.Millisecond, 4)
			if frames < 10 {
				t.Errorf("--no-loop-guard: %d datagrams in 0.5 s after one forged, want the tutorial's loop (10 or more)", frames)
			}
			t.Logf("--no-loop-guard: %d datagrams captured in 0.5 s", frames)
			if out := l.stop(t); strings.Contains(out, "Loop guard") {
				t.Errorf("--no-loop-guard refused:\n%s", out)
			}
		})
	}
}

// Two servers on ephemeral ports, which no static rule can tell from
// clients, but for a datagram forged from the server's own port: --rate
// 100 bounds the loop to 2(25 + 100 t) + 1 datagrams in t seconds (a
// bucket holds a quarter second's worth) and ends it once one server
// answers faster than 100 a second. A prefork server has a guard in each
// worker, each with its own buckets.
func TestLoopGuardRate(t *testing.T) {
	const rate, burst = 100, 25
	for _, s := range guardServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			l := startLoopNet(t, s, guardOpts{rate: rate}, 0, 0)
			l.forge(t, localhost, l.a.Port, l.a.Port, "self")
			if frames, replies := l.count(t, 300*time.Millisecond, 4); frames != 1 || replies != 1 {
				t.Errorf("forged from itself: %d datagrams, %d from the server's port, want only the forged one", frames, replies)
			}
			start := time.Now()
			l.forge(t, localhost, l.b.Port, l.a.Port, "rate")
			first, _ := l.count(t, time.Second, 4)
			if first > 300 {
				t.Errorf("--rate %d: %d datagrams in 1 s after one forged, want at most 300", rate, first)
			}
			if first < 2 {
				t.Errorf("--rate %d: %d datagrams in 1 s: the first requests were not answered", rate, first)
			}
			total, last := first, first
			for time.Since(start) < 3*time.Second && last > 0 {
				last, _ = l.count(t, time.Second, 4)
				total += last
			}
			if bound := 2*(burst+rate*time.Since(start).Seconds()) + 1; float64(total) > bound {
				t.Errorf("--rate %d: %d datagrams in %v, over the bound of %.0f", rate, total, time.Since(start).Round(time.Millisecond), bound)
			}
			out := l.stop(t)
			got := refusals(out)
			if got["own port"] != 1 {
				t.Errorf("refusals %v, want own port 1:\n%s", got, out)
			}
			if last == 0 && got["over rate"] < 1 {
				t.Errorf("the loop ended with no refusal over rate: %v:\n%s", got, out)
			}
			t.Logf("%d datagrams in the first second, %d in all; the loop ended: %v", first, total, last == 0)
		})
	}
}

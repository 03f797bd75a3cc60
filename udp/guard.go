package udp

import (
	"fmt"
	"io"
	"time"

	"github.com/socklab/socklab/sys"
)

// The echo-loop guard of every UDP server, raw, net and C alike
// (testdata/common.h's guard_refuses), against CVE-1999-0103: a single
// datagram forged to come from one echo server's port and sent to another
// makes the two answer each other for ever, and one forged to come from
// the server itself makes it answer itself. As the trusted inetds do
// (OpenBSD's dg_badinput), a server refuses, by default, a datagram
//
//   - from a reserved source port, below 1024 (the ports of echo,
//     chargen, daytime and their like; port 0 too, which no socket sends
//     from);
//   - from its own port, at any address: its own address forged, or
//     another server of the same program on another host;
//   - from a source that cannot be a client: 0.0.0.0/8, a multicast
//     group (224.0.0.0/4) or 240.0.0.0/4, 255.255.255.255 among them;
//   - with --rate N, beyond N replies a second to one source address (a
//     token bucket that holds a quarter of a second's worth, one reply at
//     least), for loops between ports that no static rule recognises. Two
//     servers in a loop then exchange at most 2(N/4 + N t) + 1 datagrams
//     in t seconds, however fast they are, and the loop ends as soon as
//     one of them answers faster than N a second; one slower than that is
//     bounded, not ended.
//
// A directed broadcast source (127.255.255.255 on loopback, x.y.z.255 on
// a /24) needs no rule: the servers' sockets do not set SO_BROADCAST, so
// the kernel refuses the reply with EACCES, which is reported. The net
// twins clear the SO_BROADCAST that package net sets, to the same end.
//
// A refused datagram is dropped and counted, not answered; one line on
// the log says so at most once a second, with the counts by reason and
// the last source. The check is arithmetic on the sender's address: it
// makes no system call, so the strace of a server is the same with or
// without it. --no-loop-guard (LoopGuard.Off) answers everything, as the
// tutorial's programs do.

// LoopGuard configures the echo-loop guard of a UDP server.
type LoopGuard struct {
	Off  bool // --no-loop-guard: answer every datagram, as the tutorial does
	Port int  // the server's own port, from Listen; its datagrams are refused
	Rate int  // --rate: replies a second to one source address; 0 for no bound
}

// MaxRate bounds LoopGuard.Rate: a million replies a second is more than
// a server on loopback sends.
const MaxRate = 1000000

// The reasons for a refusal, in the order the report lists them.
const (
	refusedReserved  = iota // a source port below 1024
	refusedOwnPort          // the server's own port
	refusedBadSource        // 0.0.0.0/8, multicast, 240.0.0.0/4
	refusedRate             // over --rate
	refusedReasons
)

var refusedNames = [refusedReasons]string{"reserved port", "own port", "bad source", "over rate"}

// The rate buckets: guardSets sets of guardWays source addresses, a
// fixed table that a flood of forged sources cannot grow. An address
// that finds no room takes the way whose bucket was fullest, whose state
// matters least.
const (
	guardSets = 256
	guardWays = 4
)

type bucket struct {
	addr [4]byte
	used bool
	tat  int64 // the bucket's theoretical arrival time, ns since the guard's start (GCRA)
}

// guard is a server's LoopGuard at work. Its methods are called by the
// receiving loop only; a server with several receiving processes
// (prefork) has a guard in each, so --rate bounds each worker.
type guard struct {
	LoopGuard
	log      io.Writer
	start    time.Time
	now      func() time.Time // time.Now; a test's clock
	interval int64            // ns between replies at Rate
	burst    int64            // ns of credit a bucket holds: a quarter second, one interval at least
	buckets  [guardSets][guardWays]bucket
	counts   [refusedReasons]int // refused since the last report
	pending  int
	total    int
	lastAddr [4]byte // the source of the last refusal, for the report
	lastPort int
	reported time.Time
}

func newGuard(cfg LoopGuard, log io.Writer) *guard {
	g := &guard{LoopGuard: cfg, log: log, now: time.Now}
	g.start = g.now()
	if cfg.Rate > 0 {
		g.interval = int64(time.Second) / int64(cfg.Rate)
		g.burst = max(int64(time.Second/4), g.interval)
	}
	return g
}

// refuses reports whether a datagram from addr:port is to be dropped,
// and counts it when it is.
func (g *guard) refuses(addr [4]byte, port int) bool {
	if g.Off {
		return false
	}
	reason := -1
	switch {
	case port < 1024:
		reason = refusedReserved
	case port == g.Port:
		reason = refusedOwnPort
	case addr[0] == 0 || addr[0] >= 224:
		reason = refusedBadSource
	case g.Rate > 0 && !g.take(addr):
		reason = refusedRate
	}
	if reason < 0 {
		return false
	}
	g.counts[reason]++
	g.pending++
	g.total++
	g.lastAddr, g.lastPort = addr, port
	if now := g.now(); g.reported.IsZero() || now.Sub(g.reported) >= time.Second {
		g.report(now)
	}
	return true
}

// take spends one reply from addr's bucket, reporting false when it is
// empty. GCRA: the bucket allows a reply while its theoretical arrival
// time is no more than burst ahead of now.
func (g *guard) take(addr [4]byte) bool {
	now := int64(g.now().Sub(g.start))
	b := g.bucketOf(addr, now)
	tat := max(b.tat, now)
	if tat-now+g.interval > g.burst {
		return false
	}
	b.tat = tat + g.interval
	return true
}

// report writes the refusals counted since the last report, if any.
func (g *guard) report(now time.Time) {
	if g.pending == 0 {
		return
	}
	last := sys.NewSockaddrIn(g.lastAddr, g.lastPort)
	line := fmt.Sprintf("Loop guard refused %d datagrams (", g.pending)
	sep := ""
	for i, n := range g.counts {
		if n > 0 {
			line += fmt.Sprintf("%s%s %d", sep, refusedNames[i], n)
			sep = ", "
		}
	}
	fmt.Fprintf(g.log, "%s), last from %s; %d so far; --no-loop-guard answers them\n", line, last.String(), g.total)
	g.counts = [refusedReasons]int{}
	g.pending = 0
	g.reported = now
}

// flush reports what is still counted when the server stops.
func (g *guard) flush() { g.report(g.now()) }

// bucketOf finds addr's bucket, or gives it the way of its set whose
// bucket was the fullest (the oldest arrival time), emptied to now.
func (g *guard) bucketOf(addr [4]byte, now int64) *bucket {
	h := (uint32(addr[0])<<24 | uint32(addr[1])<<16 | uint32(addr[2])<<8 | uint32(addr[3])) * 2654435761
	set := &g.buckets[h>>24%guardSets]
	b := &set[0]
	for i := range set {
		if set[i].used && set[i].addr == addr {
			return &set[i]
		}
		if b.used && (!set[i].used || set[i].tat < b.tat) {
			b = &set[i]
		}
	}
	*b = bucket{addr: addr, used: true, tat: now}
	return b
}

package icmp

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Stats is what a run of Ping or PingNet counted. Round-trip times are
// whole microseconds, as iputils keeps them, so that the Go programs and
// the C twin print the same figures from the same times.
type Stats struct {
	Ident       int // the ICMP identifier of our requests
	Transmitted int // echo requests sent
	Received    int // distinct sequence numbers answered
	Duplicates  int // further good replies to a sequence already answered

	// Ignored packets, by verdict; Requests are not errors: a raw socket on
	// loopback receives its own echo requests.
	Requests, Truncated, BadChecksum, Foreign, UnknownSeq, BadData, Other int

	MinRTT, MaxRTT, SumRTT int64 // microseconds, over Received replies
	SumRTT2                int64 // sum of squares, for mdev
	Elapsed                time.Duration
}

// Ignored returns how many packets were ignored as untrustworthy (not
// counting our own requests).
func (s *Stats) Ignored() int {
	return s.Truncated + s.BadChecksum + s.Foreign + s.UnknownSeq + s.BadData + s.Other
}

// count adds one ignored packet to its verdict's counter.
func (s *Stats) count(v Verdict) {
	switch v {
	case Request:
		s.Requests++
	case Truncated:
		s.Truncated++
	case BadChecksum:
		s.BadChecksum++
	case Foreign:
		s.Foreign++
	case UnknownSeq:
		s.UnknownSeq++
	case BadData:
		s.BadData++
	case Other:
		s.Other++
	}
}

// header prints the first lines, as iputils does, and the identifier.
func header(w io.Writer, name, addr string, size, ident int, unprivileged bool) {
	fmt.Fprintf(w, "PING %s (%s) %d(%d) bytes of data.\n", name, addr, size, size+HeaderLen+IPv4HeaderLen)
	if unprivileged {
		fmt.Fprintf(w, "ICMP identifier %d, chosen by the kernel for the ping socket\n", ident)
	} else {
		fmt.Fprintf(w, "ICMP identifier %d, from the process ID\n", ident)
	}
}

// reply records a good reply of n ICMP bytes and prints its line; ttl < 0
// is unknown and not printed. A duplicate is printed with (DUP!) and kept
// out of the times, which cover each sequence's first reply only.
func (s *Stats) reply(w io.Writer, addr string, n, seq, ttl int, rtt time.Duration, dup bool) {
	us := rtt.Microseconds()
	if dup {
		s.Duplicates++
	} else {
		if s.Received == 0 || us < s.MinRTT {
			s.MinRTT = us
		}
		s.MaxRTT = max(s.MaxRTT, us)
		s.SumRTT += us
		s.SumRTT2 += us * us
		s.Received++
	}
	line := fmt.Sprintf("%d bytes from %s: icmp_seq=%d", n, addr, seq)
	if ttl >= 0 {
		line += fmt.Sprintf(" ttl=%d", ttl)
	}
	line += " time=" + ms(us) + " ms"
	if dup {
		line += " (DUP!)"
	}
	fmt.Fprintln(w, line)
}

// ms formats microseconds as iputils prints a reply's time: three
// significant decimals below 1 ms, fewer above, none from 100 ms.
func ms(us int64) string {
	switch {
	case us >= 100000:
		return fmt.Sprintf("%d", us/1000)
	case us >= 10000:
		return fmt.Sprintf("%d.%01d", us/1000, us%1000/100)
	case us >= 1000:
		return fmt.Sprintf("%d.%02d", us/1000, us%1000/10)
	}
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// summary prints the statistics as iputils does, and a line of ignored
// packets when there were any.
func (s *Stats) summary(w io.Writer, name string) {
	loss := 0
	if s.Transmitted > 0 {
		loss = (s.Transmitted - s.Received) * 100 / s.Transmitted
	}
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", name)
	fmt.Fprintf(w, "%d packets transmitted, %d received, ", s.Transmitted, s.Received)
	if s.Duplicates > 0 {
		fmt.Fprintf(w, "+%d duplicates, ", s.Duplicates)
	}
	fmt.Fprintf(w, "%d%% packet loss, time %dms\n", loss, s.Elapsed.Milliseconds())
	if s.Received > 0 {
		n := int64(s.Received)
		avg := s.SumRTT / n
		mdev := isqrt(variance(s.SumRTT, s.SumRTT2, n))
		fmt.Fprintf(w, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n", ms3(s.MinRTT), ms3(avg), ms3(s.MaxRTT), ms3(mdev))
	}
	if s.Ignored() > 0 {
		var parts []string
		for _, c := range []struct {
			v Verdict
			n int
		}{{Truncated, s.Truncated}, {BadChecksum, s.BadChecksum}, {Foreign, s.Foreign},
			{UnknownSeq, s.UnknownSeq}, {BadData, s.BadData}, {Other, s.Other}} {
			if c.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %v", c.n, c.v))
			}
		}
		fmt.Fprintf(w, "ignored: %s\n", strings.Join(parts, ", "))
	}
}

// ms3 formats microseconds as milliseconds with three decimals.
func ms3(us int64) string { return fmt.Sprintf("%d.%03d", us/1000, us%1000) }

// variance returns the variance of n times in whole square microseconds
// from their sum and their sum of squares, mean(x²) - mean(x)², in
// floating point: iputils subtracts the square of the mean truncated to a
// microsecond, which can make mdev several times too large at loopback
// times of a few tens of microseconds.
func variance(sum, sum2, n int64) int64 {
	mean := float64(sum) / float64(n)
	v := float64(sum2)/float64(n) - float64(mean*mean)
	return int64(v)
}

// isqrt is the integer square root, as iputils' llsqrt, so that the C
// twin needs no libm.
func isqrt(a int64) int64 {
	if a <= 0 {
		return 0
	}
	x, prev := a, int64(0)
	for range 64 { // Newton's method converges long before
		prev = x
		x = (x + a/x) / 2
		if x >= prev {
			return prev
		}
	}
	return x
}

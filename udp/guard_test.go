package udp

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock is a guard's clock that moves only when the test says.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func testGuard(cfg LoopGuard) (*guard, *fakeClock, *bytes.Buffer) {
	var log bytes.Buffer
	clock := &fakeClock{t: time.Unix(1000, 0)}
	g := newGuard(cfg, &log)
	g.now = clock.now
	g.start = clock.now()
	return g, clock, &log
}

func TestGuardRules(t *testing.T) {
	loopback := [4]byte{127, 0, 0, 1}
	for _, c := range []struct {
		addr    [4]byte
		port    int
		refused bool
		why     string
	}{
		{loopback, 40000, false, "a client"},
		{loopback, 1024, false, "the first unreserved port"},
		{loopback, 1023, true, "reserved port"},
		{loopback, 7, true, "reserved port"},
		{loopback, 0, true, "reserved port"},
		{loopback, 7777, true, "own port"},
		{[4]byte{10, 1, 2, 3}, 7777, true, "own port"},
		{[4]byte{0, 0, 0, 0}, 40000, true, "bad source"},
		{[4]byte{224, 0, 0, 1}, 40000, true, "bad source"},
		{[4]byte{239, 255, 255, 250}, 40000, true, "bad source"},
		{[4]byte{255, 255, 255, 255}, 40000, true, "bad source"},
		{[4]byte{223, 255, 255, 255}, 40000, false, "the last unicast /8"},
	} {
		g, _, log := testGuard(LoopGuard{Port: 7777})
		if got := g.refuses(c.addr, c.port); got != c.refused {
			t.Errorf("%v:%d (%s): refused %v, want %v", c.addr, c.port, c.why, got, c.refused)
		}
		if c.refused && !strings.Contains(log.String(), c.why+" 1") {
			t.Errorf("%v:%d: report %q does not count %q", c.addr, c.port, log.String(), c.why)
		}
		if !c.refused && log.Len() > 0 {
			t.Errorf("%v:%d: answered but reported %q", c.addr, c.port, log.String())
		}
		off, _, _ := testGuard(LoopGuard{Off: true, Port: 7777, Rate: 1})
		if off.refuses(c.addr, c.port) || off.refuses(c.addr, c.port) {
			t.Errorf("%v:%d: refused with the guard off", c.addr, c.port)
		}
	}
}

// TestGuardRate checks the token bucket: a quarter second's worth at
// once, then Rate a second, each source address with a bucket of its own.
func TestGuardRate(t *testing.T) {
	g, clock, _ := testGuard(LoopGuard{Port: 7777, Rate: 100})
	a, b := [4]byte{127, 0, 0, 2}, [4]byte{127, 0, 0, 3}
	answered := func(addr [4]byte, n int) int {
		ok := 0
		for range n {
			if !g.refuses(addr, 40000) {
				ok++
			}
		}
		return ok
	}
	if n := answered(a, 1000); n != 25 {
		t.Fatalf("a burst of 1000 from one source: %d answered, want the bucket's 25", n)
	}
	if n := answered(b, 150); n != 25 {
		t.Fatalf("another source: %d answered, want its own bucket's 25", n)
	}
	clock.advance(50 * time.Millisecond)
	if n := answered(a, 100); n != 5 {
		t.Fatalf("50 ms later: %d answered, want 5 at 100 a second", n)
	}
	// A steady source at twice the rate for 10 s is answered at the rate.
	sent := 0
	ok := 0
	for range 2000 {
		clock.advance(5 * time.Millisecond)
		sent++
		if !g.refuses(a, 40000) {
			ok++
		}
	}
	if ok < 990 || ok > 1030 {
		t.Fatalf("%d sent over 10 s at 200 a second: %d answered, want about 1000", sent, ok)
	}
	if g.total < 1000 {
		t.Fatalf("refusals not counted: %d in all", g.total)
	}
	// At one reply a second the bucket still holds one.
	slow, clock, _ := testGuard(LoopGuard{Port: 7777, Rate: 1})
	for i := range 5 {
		if slow.refuses(a, 40000) {
			t.Fatalf("--rate 1: datagram %d, a second after the last, refused", i+1)
		}
		if !slow.refuses(a, 40000) {
			t.Fatalf("--rate 1: a second datagram within the second answered")
		}
		clock.advance(time.Second)
	}
}

// TestGuardTableBounded floods the guard with forged sources: the table
// stays its fixed size and a real client keeps its bucket's state only
// as long as its set has room, never taking another's.
func TestGuardTableBounded(t *testing.T) {
	g, _, _ := testGuard(LoopGuard{Port: 7777, Rate: 40})
	for i := range 100000 {
		addr := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		if g.refuses(addr, 40000) {
			t.Fatalf("source %v refused on its first datagram", addr)
		}
	}
	used := 0
	for s := range g.buckets {
		for w := range g.buckets[s] {
			if g.buckets[s][w].used {
				used++
			}
		}
	}
	if used != guardSets*guardWays {
		t.Fatalf("%d buckets in use after 100000 sources, want the table's %d", used, guardSets*guardWays)
	}
	// One source's bucket survives while its set holds no more than
	// guardWays addresses.
	a := [4]byte{127, 0, 0, 2}
	for range 10 {
		g.refuses(a, 40000)
	}
	if !g.refuses(a, 40000) {
		t.Fatalf("the 11th datagram at once at --rate 40 (a bucket of 10) was answered")
	}
}

// TestGuardReportCadence checks that refusals give one line at once, then
// at most one a second, and that flush reports what is left.
func TestGuardReportCadence(t *testing.T) {
	g, clock, log := testGuard(LoopGuard{Port: 7777})
	lines := func() int { return strings.Count(log.String(), "\n") }
	src := [4]byte{127, 0, 0, 1}
	g.refuses(src, 7)
	if lines() != 1 {
		t.Fatalf("first refusal: %d lines, want 1 at once: %q", lines(), log.String())
	}
	for range 1000 {
		clock.advance(time.Millisecond / 2)
		g.refuses(src, 7777)
	}
	if lines() != 1 {
		t.Fatalf("1000 refusals within 0.5 s: %d lines, want still 1: %q", lines(), log.String())
	}
	clock.advance(time.Second)
	g.refuses([4]byte{224, 0, 0, 1}, 5000)
	want := "Loop guard refused 1001 datagrams (own port 1000, bad source 1), last from 224.0.0.1:5000; 1002 so far; --no-loop-guard answers them\n"
	if got := log.String()[strings.Index(log.String(), "\n")+1:]; got != want {
		t.Fatalf("second report:\n got %q\nwant %q", got, want)
	}
	g.flush()
	if lines() != 2 {
		t.Fatalf("flush with nothing counted wrote a line: %q", log.String())
	}
	g.refuses(src, 80)
	g.flush()
	if lines() != 3 || !strings.HasSuffix(log.String(), "refused 1 datagrams (reserved port 1), last from 127.0.0.1:80; 1003 so far; --no-loop-guard answers them\n") {
		t.Fatalf("flush did not report the last refusal: %q", log.String())
	}
}

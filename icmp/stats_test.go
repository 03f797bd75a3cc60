package icmp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestMs(t *testing.T) {
	for us, want := range map[int64]string{
		0: "0.000", 45: "0.045", 999: "0.999", 1000: "1.00", 1234: "1.23", 9999: "9.99",
		10000: "10.0", 12345: "12.3", 99999: "99.9", 100000: "100", 123456: "123", 60000000: "60000",
	} {
		if got := ms(us); got != want {
			t.Errorf("ms(%d) = %q, want %q", us, got, want)
		}
	}
}

func TestIsqrt(t *testing.T) {
	for a, want := range map[int64]int64{-4: 0, 0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 8: 2, 9: 3, 99: 9, 100: 10,
		1 << 62: 1 << 31, 9_000_000_000_000_000_000: 3_000_000_000} {
		if got := isqrt(a); got != want {
			t.Errorf("isqrt(%d) = %d, want %d", a, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	var st Stats
	var out strings.Builder
	for i, us := range []int64{50, 49, 44} {
		st.reply(&out, "127.0.0.1", 64, i+1, 64, time.Duration(us)*time.Microsecond, false)
	}
	st.reply(&out, "127.0.0.1", 64, 2, -1, 1500*time.Microsecond, true)
	st.Transmitted = 4
	st.Foreign, st.BadChecksum, st.Requests = 2, 1, 4
	st.Elapsed = 3001 * time.Millisecond
	st.summary(&out, "localhost")
	want := `64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.050 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.049 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.044 ms
64 bytes from 127.0.0.1: icmp_seq=2 time=1.50 ms (DUP!)

--- localhost ping statistics ---
4 packets transmitted, 3 received, +1 duplicates, 25% packet loss, time 3001ms
rtt min/avg/max/mdev = 0.044/0.047/0.050/0.002 ms
ignored: 1 bad checksum, 2 foreign
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if st.Received != 3 || st.Duplicates != 1 || st.Ignored() != 3 {
		t.Errorf("received %d, duplicates %d, ignored %d; want 3, 1, 3", st.Received, st.Duplicates, st.Ignored())
	}
}

// Nothing back: no rtt line, 100% loss; nothing sent: 0%, no division.
func TestSummaryNoReply(t *testing.T) {
	for _, c := range []struct {
		sent int
		want string
	}{
		{3, "3 packets transmitted, 0 received, 100% packet loss, time 0ms\n"},
		{0, "0 packets transmitted, 0 received, 0% packet loss, time 0ms\n"},
	} {
		st := Stats{Transmitted: c.sent}
		var out strings.Builder
		st.summary(&out, "x")
		if got := strings.TrimPrefix(out.String(), "\n--- x ping statistics ---\n"); got != c.want {
			t.Errorf("%d sent: %q, want %q", c.sent, got, c.want)
		}
	}
}

func TestConfigBounds(t *testing.T) {
	ok := Config{Count: 1, Interval: MinInterval, Size: MaxSize, Timeout: MinTimeout}
	if _, err := ok.withDefaults(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
	c, err := Config{}.withDefaults()
	if err != nil || c.Count != DefaultCount || c.Interval != DefaultInterval || c.Size != 0 || c.Timeout != DefaultTimeout || c.Out == nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{Count: -1}, {Count: MaxCount + 1}, {Interval: MinInterval - 1}, {Interval: MaxInterval + 1},
		{Size: -1}, {Size: MaxSize + 1}, {Timeout: -1}, {Timeout: MaxTimeout + 1},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// A destination outside 127.0.0.0/8 is refused before any system call
// (the descriptor -1 would fail one), unless AllowRemote says otherwise.
func TestPingRefusesRemote(t *testing.T) {
	remote := [4]byte{192, 0, 2, 1}
	if _, err := Ping(-1, 1, remote, Config{Count: 1}); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Ping: %v, want ErrNotLoopback", err)
	}
	if _, err := PingNet(nil, 1, netip.AddrFrom4(remote), Config{Count: 1}); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("PingNet: %v, want ErrNotLoopback", err)
	}
	if _, err := PingNet(nil, 1, netip.MustParseAddr("::1"), Config{Count: 1}); !errors.Is(err, ErrConfig) {
		t.Errorf("PingNet(::1): %v, want ErrConfig", err)
	}
	if err := (Config{AllowRemote: true}).checkDest(remote); err != nil {
		t.Errorf("with AllowRemote: %v", err)
	}
	if err := (Config{}).checkDest([4]byte{127, 1, 2, 3}); err != nil {
		t.Errorf("127.1.2.3: %v", err)
	}
}

package sys

import (
	"errors"
	"net/netip"
	"testing"
)

// InetAddr takes exactly the dotted quads that net/netip takes as IPv4
// (four decimal octets, no leading zeros), gives the same four bytes, and
// InetNtoa writes them back as the text it read.
func FuzzInetAddr(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.255", "1.2.3.4",
		"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "0x7f.0.0.1",
		"+1.2.3.4", "1..2.3", ".1.2.3", "1.2.3.", "", "localhost", "::1",
		"::ffff:127.0.0.1", "1.2.3.4%lo", "1.2.3.1000", "1.2.3.-1", " 1.2.3.4",
		"1.2.3.4 ", "999.1.1.1", "00.0.0.0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := InetAddr(s)
		want, perr := netip.ParseAddr(s)
		valid := perr == nil && want.Is4()
		if err != nil {
			if valid {
				t.Fatalf("InetAddr(%q) refused what netip takes (%v): %v", s, want, err)
			}
			if !errors.Is(err, ErrNotDottedQuad) {
				t.Fatalf("InetAddr(%q): %v is not ErrNotDottedQuad", s, err)
			}
			return
		}
		if !valid {
			t.Fatalf("InetAddr(%q) = %v, but netip refuses it: %v", s, got, perr)
		}
		if got != want.As4() {
			t.Fatalf("InetAddr(%q) = %v, netip gives %v", s, got, want.As4())
		}
		if back := InetNtoa(got); back != s {
			t.Fatalf("InetNtoa(InetAddr(%q)) = %q", s, back)
		}
	})
}

// Every address formats to a dotted quad that parses back to it, in at
// most 15 bytes (the buffer InetNtoa reserves), and AppendInetNtoa keeps
// what the buffer held before.
func FuzzInetNtoa(f *testing.F) {
	f.Add(byte(127), byte(0), byte(0), byte(1), "")
	f.Add(byte(0), byte(0), byte(0), byte(0), "to ")
	f.Add(byte(255), byte(255), byte(255), byte(255), "x")
	f.Add(byte(10), byte(100), byte(9), byte(200), "")
	f.Fuzz(func(t *testing.T, a, b, c, d byte, prefix string) {
		addr := [4]byte{a, b, c, d}
		s := InetNtoa(addr)
		if len(s) > 15 {
			t.Fatalf("InetNtoa(%v) = %q, longer than 15 bytes", addr, s)
		}
		back, err := InetAddr(s)
		if err != nil || back != addr {
			t.Fatalf("InetAddr(InetNtoa(%v)) = %v, %v", addr, back, err)
		}
		if out := string(AppendInetNtoa([]byte(prefix), addr)); out != prefix+s {
			t.Fatalf("AppendInetNtoa(%q, %v) = %q", prefix, addr, out)
		}
	})
}

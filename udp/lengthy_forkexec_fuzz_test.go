package udp

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Whatever ParseChildArgs accepts is a request a child can answer (a
// delay not negative, a client port 1..65535, at most MaxBufSize bytes),
// and ChildArgs writes it back in a form that parses to the same values.
func FuzzParseChildArgs(f *testing.F) {
	f.Add("5s", "127.0.0.1:7777", "68656c6c6f")
	f.Add("0s", "127.0.0.1:1", "")
	f.Add("1.5µs", "10.0.0.255:65535", "00ff")
	f.Add("-1s", "127.0.0.1:7777", "68")
	f.Add("5", "127.0.0.1:7777", "68")
	f.Add("5s", "127.0.0.1:0", "68")
	f.Add("5s", "127.0.0.1:65536", "68")
	f.Add("5s", "127.0.0.1", "68")
	f.Add("5s", "127.0.0.1:+80", "68")
	f.Add("5s", "localhost:80", "68")
	f.Add("5s", "127.0.0.1:80:81", "68")
	f.Add("5s", "127.0.0.1:80", "6")
	f.Add("5s", "127.0.0.1:80", "zz")
	f.Add("5s", "127.0.0.1:80", "4A4b")
	f.Add("2562047h47m16.854775807s", "255.255.255.255:65535", "")
	f.Fuzz(func(t *testing.T, delay, client, msg string) {
		d, sa, req, err := ParseChildArgs([]string{delay, client, msg})
		if err != nil {
			return
		}
		if d < 0 || sa.Family != unix.AF_INET ||
			sa.PortOf() < 1 || sa.PortOf() > 65535 || len(req) > MaxBufSize {
			t.Fatalf("ParseChildArgs(%q, %q, %q) = %v, %v, %d bytes", delay, client, msg, d, sa.String(), len(req))
		}
		args := ChildArgs(d, &sa, req)
		if args[0] != RoleChild {
			t.Fatalf("ChildArgs starts with %q", args[0])
		}
		d2, sa2, req2, err := ParseChildArgs(args[1:])
		if err != nil || d2 != d || sa2 != sa || !bytes.Equal(req2, req) {
			t.Fatalf("%q parsed to %v %v %x, its ChildArgs %q to %v %v %x (%v)",
				[]string{delay, client, msg}, d, sa.String(), req, args, d2, sa2.String(), req2, err)
		}
	})
}

// ParseChildArgs reads back every request ChildArgs writes.
func FuzzChildArgsRoundTrip(f *testing.F) {
	f.Add(int64(5*time.Second), []byte{127, 0, 0, 1}, uint16(7777), []byte("hello"))
	f.Add(int64(0), []byte{0, 0, 0, 0}, uint16(1), []byte{})
	f.Add(int64(1<<63-1), []byte{255, 255, 255, 255}, uint16(65535), []byte{0})
	f.Add(int64(1500), []byte{10, 1, 2, 3}, uint16(40000), bytes.Repeat([]byte{0xff}, MaxBufSize))
	f.Add(int64(1500), []byte{10, 1, 2, 3}, uint16(40000), make([]byte, MaxBufSize+1))
	f.Add(int64(-1), []byte{127, 0, 0, 1}, uint16(7777), []byte("x"))
	f.Add(int64(1), []byte{127, 0, 0, 1}, uint16(0), []byte("x"))
	f.Fuzz(func(t *testing.T, delay int64, addr []byte, port uint16, req []byte) {
		var a [4]byte
		copy(a[:], addr)
		sa := sys.NewSockaddrIn(a, int(port))
		args := ChildArgs(time.Duration(delay), &sa, req)
		d, got, r, err := ParseChildArgs(args[1:])
		valid := delay >= 0 && port != 0 && len(req) <= MaxBufSize
		if err != nil {
			if valid {
				t.Fatalf("ParseChildArgs(%q): %v", args[1:], err)
			}
			return
		}
		if !valid {
			t.Fatalf("ParseChildArgs(%q) accepted delay %d, port %d, %d bytes", args[1:], delay, port, len(req))
		}
		if d != time.Duration(delay) || got != sa || !bytes.Equal(r, req) {
			t.Fatalf("ParseChildArgs(%q) = %v %v %x, want %v %v %x",
				args[1:], d, got.String(), r, time.Duration(delay), sa.String(), req)
		}
	})
}

// Whatever ParseWorkerArgs accepts is within the bounds its usage names,
// and WorkerArgs writes it back in a form that parses to the same
// configuration.
func FuzzParseWorkerArgs(f *testing.F) {
	for _, a := range [][5]string{
		{"5s", "256", "verbose", "7777", "0"},
		{"0s", "1", "quiet", "0", "off"},
		{"1m30s", "65507", "quiet", "65535", "1000000"},
		{"5s", "0", "verbose", "7777", "0"},
		{"5s", "65508", "verbose", "7777", "0"},
		{"5s", "256", "loud", "7777", "0"},
		{"5s", "256", "verbose", "-1", "0"},
		{"5s", "256", "verbose", "65536", "0"},
		{"5s", "256", "verbose", "7777", "1000001"},
		{"5s", "256", "verbose", "7777", "-1"},
		{"5s", "256", "verbose", "7777", "OFF"},
		{"-5s", "256", "verbose", "7777", "0"},
		{"5s", "+256", "verbose", "007777", "+5"},
	} {
		f.Add(a[0], a[1], a[2], a[3], a[4])
	}
	f.Fuzz(func(t *testing.T, delay, bufsize, quiet, port, rate string) {
		in := []string{delay, bufsize, quiet, port, rate}
		cfg, err := ParseWorkerArgs(in)
		if err != nil {
			return
		}
		g := cfg.Guard
		if cfg.Delay < 0 || cfg.BufSize < 1 || cfg.BufSize > MaxBufSize || g.Port < 0 || g.Port > 65535 ||
			g.Rate < 0 || g.Rate > MaxRate || g.Off && g.Rate != 0 {
			t.Fatalf("ParseWorkerArgs(%q) = %+v", in, cfg)
		}
		args := WorkerArgs(cfg)
		if args[0] != RoleWorker {
			t.Fatalf("WorkerArgs starts with %q", args[0])
		}
		back, err := ParseWorkerArgs(args[1:])
		if err != nil || back.Delay != cfg.Delay || back.BufSize != cfg.BufSize || back.Quiet != cfg.Quiet || back.Guard != cfg.Guard {
			t.Fatalf("%q parsed to %+v, its WorkerArgs %q to %+v (%v)", in, cfg, args, back, err)
		}
		if again := WorkerArgs(back); !slices.Equal(again, args) {
			t.Fatalf("WorkerArgs %q, then %q", args, again)
		}
	})
}

package icmp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

var loopback = [4]byte{127, 0, 0, 1}

// allGroups lets every group open a ping socket.
const allGroups = "0 2147483647"

// inNetns runs fn in a private network namespace, with lo up and, unless
// empty, net.ipv4.ping_group_range set to groups (the namespace's own
// copy: the host's is untouched). Sockets fn opens stay in the namespace.
func inNetns(t *testing.T, groups string, fn func() error) {
	t.Helper()
	err := netns.Do(func() error {
		if groups != "" {
			if err := sysctl("net/ipv4/ping_group_range", groups); err != nil {
				return err
			}
		}
		return fn()
	})
	if errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN and CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// sysctl writes a sysctl of the calling thread's network namespace.
func sysctl(name, value string) error {
	return os.WriteFile("/proc/sys/"+name, []byte(value), 0)
}

// pinger is one implementation with its socket open: Ping or PingNet
// with the identifier it got, and how to stop and close it.
type pinger struct {
	ident int
	ping  func(Config) (Stats, error)
	stop  func()
	close func()
}

// impls are the two implementations, opened in the calling thread's
// network namespace.
var impls = []struct {
	name string
	open func(unprivileged bool) (pinger, error)
}{
	{"raw", func(unprivileged bool) (pinger, error) {
		sock, ident, err := Open(unprivileged)
		if err != nil {
			return pinger{}, err
		}
		return pinger{ident,
			func(c Config) (Stats, error) { return Ping(sock, ident, loopback, c) },
			func() { Stop(sock) },
			func() { sys.Close(sock) }}, nil
	}},
	{"net", func(unprivileged bool) (pinger, error) {
		conn, ident, err := ListenNet(unprivileged)
		if err != nil {
			return pinger{}, err
		}
		return pinger{ident,
			func(c Config) (Stats, error) { return PingNet(conn, ident, netip.AddrFrom4(loopback), c) },
			func() { conn.Close() },
			func() { conn.Close() }}, nil
	}},
}

var modes = []struct {
	name         string
	unprivileged bool
}{{"raw-socket", false}, {"ping-socket", true}}

// each runs fn for every implementation and socket, in a private network
// namespace of its own where every group may open a ping socket. before,
// if not nil, runs there once the socket is open.
func each(t *testing.T, cfg Config, before func(p pinger) error, check func(t *testing.T, unprivileged bool, p pinger, st Stats, out string)) {
	for _, im := range impls {
		for _, m := range modes {
			t.Run(im.name+"/"+m.name, func(t *testing.T) {
				var p pinger
				var st Stats
				var out testenv.Buffer
				c := cfg
				c.Unprivileged, c.Out = m.unprivileged, &out
				inNetns(t, allGroups, func() error {
					var err error
					if p, err = im.open(m.unprivileged); err != nil {
						return err
					}
					defer p.close()
					if before != nil {
						if err := before(p); err != nil {
							return err
						}
					}
					st, err = p.ping(c)
					return err
				})
				check(t, m.unprivileged, p, st, out.String())
			})
		}
	}
}

var replyLine = regexp.MustCompile(`(?m)^64 bytes from 127\.0\.0\.1: icmp_seq=(\d+) ttl=64 time=\d+\.\d+ ms$`)

// Three requests, three replies, printed as iputils prints them, in about
// two intervals; a raw socket also sees its three requests go by.
func TestPingLoopback(t *testing.T) {
	const interval = 50 * time.Millisecond
	each(t, Config{Count: 3, Interval: interval, Size: DefaultSize, Timeout: 5 * time.Second}, nil,
		func(t *testing.T, unprivileged bool, p pinger, st Stats, out string) {
			t.Logf("\n%s", out)
			if st.Transmitted != 3 || st.Received != 3 || st.Duplicates != 0 || st.Ignored() != 0 {
				t.Errorf("stats %+v: want 3 sent, 3 received, nothing else", st)
			}
			wantRequests := 3
			if unprivileged {
				wantRequests = 0 // the ping socket gets replies only
			}
			if st.Requests != wantRequests {
				t.Errorf("saw %d of our own requests, want %d", st.Requests, wantRequests)
			}
			lines := replyLine.FindAllStringSubmatch(out, -1)
			if len(lines) != 3 || lines[0][1] != "1" || lines[1][1] != "2" || lines[2][1] != "3" {
				t.Errorf("reply lines %q: want icmp_seq=1, 2, 3", lines)
			}
			for _, want := range []string{
				"PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n",
				"\n--- 127.0.0.1 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time ",
				"\nrtt min/avg/max/mdev = ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			who := "from the process ID"
			if unprivileged {
				who = "chosen by the kernel for the ping socket"
			} else if p.ident != os.Getpid()&0xffff {
				t.Errorf("raw identifier %d, want the process ID's low 16 bits %d", p.ident, os.Getpid()&0xffff)
			}
			if want := fmt.Sprintf("ICMP identifier %d, %s\n", p.ident, who); !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
			if st.Elapsed < 2*interval || st.Elapsed > 5*time.Second {
				t.Errorf("took %v; want two intervals (%v) and well under the timeout", st.Elapsed, 2*interval)
			}
		})
}

// Requests without data, and the largest that fit in one IPv4 datagram.
func TestPingSizes(t *testing.T) {
	for _, size := range []int{0, MaxSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			each(t, Config{Count: 1, Interval: MinInterval, Size: size, Timeout: 5 * time.Second}, nil,
				func(t *testing.T, _ bool, _ pinger, st Stats, out string) {
					if st.Received != 1 || st.Ignored() != 0 {
						t.Errorf("stats %+v, want one good reply", st)
					}
					if want := fmt.Sprintf("%d bytes from 127.0.0.1: icmp_seq=1 ", size+HeaderLen); !strings.Contains(out, want) {
						t.Errorf("output lacks %q:\n%s", want, out)
					}
				})
		})
	}
}

// forgeries are echo replies and other messages that the test sends to
// 127.0.0.1 before Ping starts, so that they wait in the socket's queue.
func forgeries(ident int) [][]byte {
	ts := make([]byte, 20) // a timestamp reply: another ICMP type
	ts[0] = 14
	return [][]byte{
		{TypeEchoReply, 0, 0xff, 0xff}, // a header cut short
		func() []byte { p := echoReply(ident, 1, DefaultSize); p[3] ^= 1; return p }(),    // bad checksum
		echoReply(ident+1, 1, DefaultSize),                                                // another identifier
		echoReply(ident, 500, DefaultSize),                                                // a sequence never sent
		edit(echoReply(ident, 1, DefaultSize), func(p []byte) { p[HeaderLen+10] = 0xee }), // other data
		rechecksum(ts),
		echoReply(ident, 1, DefaultSize), // a perfect copy: taken, and the real reply is a duplicate
	}
}

// inject sends each packet to 127.0.0.1 from a raw ICMP socket of its own,
// which sends the bytes as given: no checksum is fixed.
func inject(pkts [][]byte) error {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return err
	}
	defer sys.Close(fd)
	to := sys.NewSockaddrIn(loopback, 0)
	for _, p := range pkts {
		if _, err := sys.Sendto(fd, p, 0, &to); err != nil {
			return err
		}
	}
	return nil
}

// Forged replies are counted by what is wrong with them and never trusted.
// A raw socket receives every one but the cut header, which the kernel
// keeps from raw ICMP sockets (raw(7): ICMP_FILTER reads a whole header
// first; the unit tests cover Truncated); the ping socket only those the
// kernel let through: a good checksum, an echo reply to its identifier.
func TestPingIgnoresForgeries(t *testing.T) {
	each(t, Config{Count: 2, Interval: 100 * time.Millisecond, Size: DefaultSize, Timeout: 5 * time.Second},
		func(p pinger) error { return inject(forgeries(p.ident)) },
		func(t *testing.T, unprivileged bool, _ pinger, st Stats, out string) {
			t.Logf("\n%s", out)
			want := Stats{Transmitted: 2, Received: 2, Duplicates: 1, Requests: 2,
				BadChecksum: 1, Foreign: 1, UnknownSeq: 1, BadData: 1, Other: 1}
			if unprivileged {
				want.Requests, want.BadChecksum, want.Foreign, want.Other = 0, 0, 0, 0
			}
			got := st
			got.MinRTT, got.MaxRTT, got.SumRTT, got.SumRTT2, got.Elapsed, got.Ident = 0, 0, 0, 0, 0, 0
			if got != want {
				t.Errorf("stats\n%+v, want\n%+v", got, want)
			}
			if !strings.Contains(out, "icmp_seq=1 ttl=64 time=") || !strings.Contains(out, " ms (DUP!)\n") {
				t.Errorf("output lacks the reply to 1 and its duplicate")
			}
			ignored := "ignored: 1 bad checksum, 1 foreign, 1 unknown sequence, 1 bad data, 1 other ICMP\n"
			if unprivileged {
				ignored = "ignored: 1 unknown sequence, 1 bad data\n"
			}
			if !strings.Contains(out, ignored) || !strings.Contains(out, "2 received, +1 duplicates, 0% packet loss") {
				t.Errorf("summary lacks %q or the duplicate", ignored)
			}
		})
}

// No reply at all (the namespace ignores echo requests): Timeout after
// the last request bounds the run, and the summary says 100% loss.
func TestPingNoReply(t *testing.T) {
	const interval, timeout = 20 * time.Millisecond, 300 * time.Millisecond
	each(t, Config{Count: 2, Interval: interval, Size: DefaultSize, Timeout: timeout},
		func(pinger) error { return sysctl("net/ipv4/icmp_echo_ignore_all", "1") },
		func(t *testing.T, _ bool, _ pinger, st Stats, out string) {
			if st.Transmitted != 2 || st.Received != 0 {
				t.Errorf("stats %+v, want 2 sent and nothing back", st)
			}
			if !strings.Contains(out, "2 packets transmitted, 0 received, 100% packet loss") || strings.Contains(out, "rtt ") {
				t.Errorf("summary:\n%s", out)
			}
			if st.Elapsed < interval+timeout || st.Elapsed > interval+timeout+3*time.Second {
				t.Errorf("took %v, want about %v", st.Elapsed, interval+timeout)
			}
		})
}

// Stop (or closing the net twin's endpoint) ends a long run within a
// moment, with its summary.
func TestPingStop(t *testing.T) {
	for _, im := range impls {
		for _, m := range modes {
			t.Run(im.name+"/"+m.name, func(t *testing.T) {
				var p pinger
				inNetns(t, allGroups, func() error {
					var err error
					p, err = im.open(m.unprivileged)
					return err
				})
				defer p.close()
				var out testenv.Buffer
				done := make(chan Stats, 1)
				go func() {
					st, err := p.ping(Config{Count: MaxCount, Interval: 20 * time.Millisecond, Size: 8, Unprivileged: m.unprivileged, Out: &out})
					if err != nil {
						t.Error(err)
					}
					done <- st
				}()
				for i := 0; i < 500 && !strings.Contains(out.String(), "icmp_seq=3 "); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				stopped := time.Now()
				p.stop()
				var st Stats
				select {
				case st = <-done:
				case <-time.After(5 * time.Second):
					t.Fatal("Ping did not return within 5s of Stop")
				}
				if d := time.Since(stopped); d > time.Second {
					t.Errorf("Ping took %v to return after Stop", d)
				}
				if st.Received < 3 || st.Transmitted > st.Received+1 || !strings.Contains(out.String(), "packets transmitted") {
					t.Errorf("stats %+v; output:\n%s", st, out.String())
				}
			})
		}
	}
}

// ping_group_range excluding our group: the refusal names the sysctl, its
// value and the way out.
func TestOpenPingSocketRefused(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			var err error
			inNetns(t, "1 0", func() error {
				var p pinger
				if p, err = im.open(true); err == nil {
					p.close()
				}
				return nil
			})
			if !errors.Is(err, unix.EACCES) {
				t.Fatalf("open: %v, want EACCES", err)
			}
			want := fmt.Sprintf(`Failed to create ping socket (group %d is outside net.ipv4.ping_group_range, now "1 0"; widen it with sysctl -w net.ipv4.ping_group_range="%d %d", or use a raw socket as root)`,
				os.Getegid(), os.Getegid(), os.Getegid())
			if !strings.HasPrefix(err.Error(), want+": ") {
				t.Errorf("error %q, want %q and the reason", err, want)
			}
		})
	}
}

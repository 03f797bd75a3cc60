package icmp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
)

// RFC 1071 section 3's worked example: the words 0001 f203 f4f5 f6f7 sum
// to ddf2, whose complement 220d is the checksum.
func TestChecksumRFC1071(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(b); got != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", got)
	}
	// An odd length pads the last byte with zero: the same sum as with a 0 byte.
	odd := []byte{0x12, 0x34, 0x56}
	if Checksum(odd) != Checksum(append(odd, 0)) {
		t.Errorf("odd length not padded with a zero byte")
	}
	// Carries fold back in: ffff + ffff = 1fffe -> fffe + 1 = ffff -> 0.
	if got := Checksum([]byte{0xff, 0xff, 0xff, 0xff}); got != 0 {
		t.Errorf("Checksum(ffff ffff) = %#04x, want 0", got)
	}
	if got := Checksum(nil); got != 0xffff {
		t.Errorf("Checksum(nil) = %#04x, want 0xffff", got)
	}
}

func TestFill(t *testing.T) {
	for _, size := range []int{0, 1, 56, 300} {
		p := make([]byte, HeaderLen+size)
		fill(p, 0x12345, 7) // the identifier keeps its low 16 bits
		if p[0] != TypeEchoRequest || p[1] != 0 {
			t.Errorf("size %d: type %d code %d, want 8 0", size, p[0], p[1])
		}
		if id, seq := binary.BigEndian.Uint16(p[4:]), binary.BigEndian.Uint16(p[6:]); id != 0x2345 || seq != 7 {
			t.Errorf("size %d: id %#x seq %d, want 0x2345 7", size, id, seq)
		}
		if Checksum(p) != 0 {
			t.Errorf("size %d: the request's checksum does not verify", size)
		}
		for i, c := range p[HeaderLen:] {
			if c != byte(i) {
				t.Fatalf("size %d: data[%d] = %d, want %d", size, i, c, byte(i))
			}
		}
	}
}

// echoReply returns an echo reply for ident and seq with size bytes of our
// data and a good checksum; edit then rechecksums after fn changes it.
func echoReply(ident, seq, size int) []byte {
	p := make([]byte, HeaderLen+size)
	fill(p, ident, seq)
	p[0] = TypeEchoReply
	return rechecksum(p)
}

func rechecksum(p []byte) []byte {
	binary.BigEndian.PutUint16(p[2:], 0)
	binary.BigEndian.PutUint16(p[2:], Checksum(p))
	return p
}

func edit(p []byte, fn func([]byte)) []byte { fn(p); return rechecksum(p) }

func ipPacket(ihl, ttl int, payload []byte) []byte {
	h := make([]byte, ihl*4)
	h[0] = 0x40 | byte(ihl)
	h[8] = byte(ttl)
	h[9] = 1
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(payload)))
	return append(h, payload...)
}

func TestIPHeader(t *testing.T) {
	reply := echoReply(1, 1, 4)
	for _, c := range []struct {
		name      string
		b         []byte
		hlen, ttl int
		ok        bool
	}{
		{"plain", ipPacket(5, 64, reply), 20, 64, true},
		{"with options", ipPacket(6, 1, reply), 24, 1, true},
		{"empty", nil, 0, 0, false},
		{"19 bytes", ipPacket(5, 64, nil)[:19], 0, 0, false},
		{"IHL past the end", ipPacket(15, 64, nil)[:40], 0, 0, false},
		{"IHL below 5", func() []byte { b := ipPacket(5, 64, reply); b[0] = 0x44; return b }(), 0, 0, false},
		{"IPv6", func() []byte { b := ipPacket(5, 64, reply); b[0] = 0x65; return b }(), 0, 0, false},
	} {
		hlen, ttl, ok := ipHeader(c.b)
		if hlen != c.hlen || ttl != c.ttl || ok != c.ok {
			t.Errorf("%s: ipHeader = %d, %d, %v; want %d, %d, %v", c.name, hlen, ttl, ok, c.hlen, c.ttl, c.ok)
		}
	}
}

// One table for both parsers: what the raw program judges by hand, the
// net twin judges through x/net's ParseMessage, with the same verdicts.
func TestInspect(t *testing.T) {
	const ident, sent, size = 0x4242, 3, 16
	us := [4]byte{127, 0, 0, 1}
	for _, c := range []struct {
		name string
		b    []byte
		src  [4]byte
		want Verdict
		seq  int
	}{
		{"reply", echoReply(ident, 2, size), us, Reply, 2},
		{"reply to the last sent", echoReply(ident, sent, size), us, Reply, sent},
		{"empty", nil, us, Truncated, 0},
		{"header cut at 4 bytes", echoReply(ident, 1, size)[:4], us, Truncated, 0},
		{"header cut at 7 bytes", echoReply(ident, 1, size)[:7], us, Truncated, 0},
		{"bad checksum", func() []byte { p := echoReply(ident, 1, size); p[3] ^= 1; return p }(), us, BadChecksum, 0},
		{"data changed, checksum not", func() []byte { p := echoReply(ident, 1, size); p[HeaderLen] ^= 0x80; return p }(), us, BadChecksum, 0},
		{"our own request", edit(echoReply(ident, 1, size), func(p []byte) { p[0] = TypeEchoRequest }), us, Request, 0},
		{"unreachable", edit(echoReply(ident, 1, size), func(p []byte) { p[0], p[1] = 3, 3 }), us, Other, 0},
		{"timestamp reply", edit(echoReply(ident, 1, size), func(p []byte) { p[0] = 14 }), us, Other, 0},
		{"foreign identifier", echoReply(ident+1, 1, size), us, Foreign, 1},
		{"foreign source", echoReply(ident, 1, size), [4]byte{127, 0, 0, 2}, Foreign, 1},
		{"sequence 0", echoReply(ident, 0, size), us, UnknownSeq, 0},
		{"sequence not sent yet", echoReply(ident, sent+1, size), us, UnknownSeq, sent + 1},
		{"data shorter", rechecksum(echoReply(ident, 1, size)[:HeaderLen+size-1]), us, BadData, 1},
		{"data longer", echoReply(ident, 1, size+1), us, BadData, 1},
		{"data changed", edit(echoReply(ident, 1, size), func(p []byte) { p[HeaderLen+5] = 0 }), us, BadData, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := append([]byte(nil), c.b...)
			t.Run("raw", func(t *testing.T) {
				v, seq := inspect(b, c.src, us, ident, sent, size)
				if v != c.want || v == Reply && seq != c.seq {
					t.Errorf("inspect = %v, seq %d; want %v, seq %d", v, seq, c.want, c.seq)
				}
			})
			t.Run("net", func(t *testing.T) {
				peer := &net.IPAddr{IP: net.IP(c.src[:])}
				v, seq := inspectNet(b, peer, netip.AddrFrom4(us), ident, sent, size)
				if v != c.want || v == Reply && seq != c.seq {
					t.Errorf("inspectNet = %v, seq %d; want %v, seq %d", v, seq, c.want, c.seq)
				}
			})
		})
	}
}

// A whole raw packet: the IPv4 header first, then the message.
func TestInspectAfterIPHeader(t *testing.T) {
	pkt := ipPacket(5, 63, echoReply(9, 1, 56))
	hlen, ttl, ok := ipHeader(pkt)
	if !ok || ttl != 63 {
		t.Fatalf("ipHeader = %d, %d, %v", hlen, ttl, ok)
	}
	if v, seq := inspect(pkt[hlen:], [4]byte{127, 0, 0, 1}, [4]byte{127, 0, 0, 1}, 9, 1, 56); v != Reply || seq != 1 {
		t.Errorf("inspect = %v, %d; want reply, 1", v, seq)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(echoReply(1, 1, 8))
	f.Add([]byte{0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		us := [4]byte{127, 0, 0, 1}
		v, _ := inspect(b, us, us, 1, 1, 8)
		w, _ := inspectNet(b, &net.IPAddr{IP: net.IP(us[:])}, netip.AddrFrom4(us), 1, 1, 8)
		if v != w {
			t.Errorf("%x: raw says %v, net says %v", b, v, w)
		}
		ipHeader(b)
	})
}

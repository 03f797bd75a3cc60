package icmp

import "encoding/binary"

// The ICMP echo message (RFC 792) and the checks every reply must pass,
// shared by ping.go and ping_net.go; testdata/ping.c has the same in C
// (in_cksum, fill, ip_header, inspect).
//
//	 0      1      2      3      4      5      6      7      8 ...
//	+------+------+------+------+------+------+------+------+-------------
//	| type | code |   checksum  |  identifier |  sequence   | data (Size)
//	+------+------+------+------+------+------+------+------+-------------
//
// Type 8 is an echo request, 0 its reply; the data of a request is the
// bytes 0, 1, 2... (mod 256), and a reply must carry them back unchanged.

// ICMP message types and lengths.
const (
	TypeEchoReply   = 0
	TypeEchoRequest = 8
	HeaderLen       = 8  // type, code, checksum, identifier, sequence
	IPv4HeaderLen   = 20 // without options
)

// Verdict is what one received packet turned out to be. Only Reply is
// trusted; every other verdict is counted in Stats and otherwise ignored.
type Verdict int

const (
	Reply       Verdict = iota // an echo reply to one of our requests
	Request                    // an echo request: a raw socket on loopback sees its own
	Truncated                  // the IPv4 or the ICMP header is cut short
	BadChecksum                // the ICMP checksum does not verify
	Foreign                    // an echo reply with another identifier, or from another address
	UnknownSeq                 // ours, but for a sequence number not sent
	BadData                    // ours, but its data differs from what was sent
	Other                      // another ICMP type (unreachable, time exceeded...)
)

var verdictNames = [...]string{"reply", "request", "truncated", "bad checksum",
	"foreign", "unknown sequence", "bad data", "other ICMP"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return "Verdict(?)"
	}
	return verdictNames[v]
}

// Checksum is the Internet checksum of RFC 1071, Stevens' in_cksum: the
// one's complement of the one's complement sum of b's 16-bit big-endian
// words, an odd last byte padded with zero. Store it big-endian in the
// checksum field (zero while summing); a message whose field is right sums
// to 0.
func Checksum(b []byte) uint16 {
	var sum uint32
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16 // fold the carries back in
	}
	return ^uint16(sum)
}

// fill writes an echo request for ident and seq into p (HeaderLen bytes
// and the data), checksum included.
func fill(p []byte, ident, seq int) {
	p[0], p[1] = TypeEchoRequest, 0
	binary.BigEndian.PutUint16(p[2:], 0)
	binary.BigEndian.PutUint16(p[4:], uint16(ident))
	binary.BigEndian.PutUint16(p[6:], uint16(seq))
	for i := range p[HeaderLen:] {
		p[HeaderLen+i] = byte(i)
	}
	binary.BigEndian.PutUint16(p[2:], Checksum(p))
}

// ipHeader reads the IPv4 header a raw socket delivers before the ICMP
// message, as C reads struct ip: it returns the header's length (IHL * 4)
// and the TTL, and false when b holds no whole IPv4 header.
func ipHeader(b []byte) (hlen, ttl int, ok bool) {
	if len(b) < IPv4HeaderLen || b[0]>>4 != 4 {
		return 0, 0, false
	}
	hlen = int(b[0]&0x0f) << 2
	if hlen < IPv4HeaderLen || hlen > len(b) {
		return 0, 0, false
	}
	return hlen, int(b[8]), true
}

// inspect judges one ICMP message from src, the raw program's way: header
// length, checksum, type, then checkEcho. It returns the sequence number
// of an echo reply.
func inspect(b []byte, src, dst [4]byte, ident, sent, size int) (Verdict, int) {
	if len(b) < HeaderLen {
		return Truncated, 0
	}
	if Checksum(b) != 0 {
		return BadChecksum, 0
	}
	switch b[0] {
	case TypeEchoRequest:
		return Request, 0
	case TypeEchoReply:
	default:
		return Other, 0
	}
	id := int(binary.BigEndian.Uint16(b[4:]))
	seq := int(binary.BigEndian.Uint16(b[6:]))
	return checkEcho(src, dst, id, seq, b[HeaderLen:], ident, sent, size), seq
}

// checkEcho judges an echo reply with a good checksum: it must come from
// dst with our identifier, answer a sequence number already sent (1 to
// sent) and carry our data back, size bytes of 0, 1, 2...
func checkEcho(src, dst [4]byte, id, seq int, data []byte, ident, sent, size int) Verdict {
	if id != ident&0xffff || src != dst {
		return Foreign
	}
	if seq < 1 || seq > sent {
		return UnknownSeq
	}
	if len(data) != size {
		return BadData
	}
	for i, c := range data {
		if c != byte(i) {
			return BadData
		}
	}
	return Reply
}

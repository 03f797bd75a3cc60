package capture

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// Verdict is the outcome of checking one checksum of a frame.
type Verdict int

const (
	Good     Verdict = iota // the checksum verifies
	Bad                     // it does not
	NotReady                // the kernel left it partial (TP_STATUS_CSUMNOTREADY): not judged
	Absent                  // UDP checksum 0: the sender computed none, which IPv4 allows
)

func (v Verdict) String() string {
	switch v {
	case Good:
		return "good"
	case Bad:
		return "bad"
	case NotReady:
		return "not ready"
	case Absent:
		return "absent"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// ErrNotChecked is returned (wrapped) when a frame lacks what a check
// needs: the layer is missing, or the frame was cut before its end.
var ErrNotChecked = errors.New("capture: checksum cannot be checked")

// sum adds b to the running 32-bit sum of 16-bit big-endian words that
// the Internet checksum uses (RFC 1071); an odd last byte is padded with
// a zero byte.
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold folds the carries back in, giving the 16-bit one's complement sum.
// Data that carries a correct checksum folds to 0xffff.
func fold(acc uint32) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// ipv4 returns the frame's IPv4 layer, complete.
func (f Frame) ipv4() (*layers.IPv4, error) {
	if f.Packet == nil {
		return nil, fmt.Errorf("no decoded packet: %w", ErrNotChecked)
	}
	ip, ok := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return nil, fmt.Errorf("no IPv4 header: %w", ErrNotChecked)
	}
	if len(ip.Contents) < 20 { // gopacket keeps the layer of a header it could not decode
		return nil, fmt.Errorf("IPv4 header cut short: %w", ErrNotChecked)
	}
	if len(ip.Contents)+len(ip.Payload) < int(ip.Length) {
		return nil, fmt.Errorf("IPv4 packet cut short (%d of %d bytes): %w",
			len(ip.Contents)+len(ip.Payload), ip.Length, ErrNotChecked)
	}
	return ip, nil
}

// CheckIPv4 verifies the IPv4 header checksum: the one's complement sum of
// the header, options included, must be 0xffff. The kernel always computes
// this one in software, so it is never NotReady.
func (f Frame) CheckIPv4() (Verdict, error) {
	ip, err := f.ipv4()
	if err != nil {
		return Bad, err
	}
	if fold(sum(0, ip.Contents)) != 0xffff {
		return Bad, nil
	}
	return Good, nil
}

// ipv4Checksum is the checksum ip's header should carry: the complement
// of the sum of the header with its checksum field zero.
func ipv4Checksum(ip *layers.IPv4) uint16 {
	h := append([]byte(nil), ip.Contents...)
	h[10], h[11] = 0, 0
	return ^fold(sum(0, h))
}

// CheckUDP verifies the UDP checksum over the pseudo-header (source and
// destination address, zero, protocol 17, UDP length), the UDP header and
// the payload. It reports NotReady when the kernel marked the checksum
// partial, which is what lo does with every datagram a local socket sends,
// and Absent for a zero checksum field.
func (f Frame) CheckUDP() (Verdict, error) {
	return f.checkL4(layers.IPProtocolUDP)
}

// CheckTCP verifies the TCP checksum the way CheckUDP does, with protocol
// 6 and the segment's length (IPv4 total length less the header) in the
// pseudo-header. It reports NotReady when the kernel marked it partial.
func (f Frame) CheckTCP() (Verdict, error) {
	return f.checkL4(layers.IPProtocolTCP)
}

func (f Frame) checkL4(proto layers.IPProtocol) (Verdict, error) {
	ip, err := f.ipv4()
	if err != nil {
		return Bad, err
	}
	if ip.Protocol != proto {
		return Bad, fmt.Errorf("IPv4 protocol %v, not %v: %w", ip.Protocol, proto, ErrNotChecked)
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		return Bad, fmt.Errorf("IPv4 fragment: %w", ErrNotChecked)
	}
	seg := ip.Payload // the whole segment: header and data
	if f.CsumNotReady {
		return NotReady, nil
	}
	field := 6 // UDP checksum offset
	length := len(seg)
	if proto == layers.IPProtocolUDP {
		if len(seg) < 8 {
			return Bad, fmt.Errorf("UDP header cut short: %w", ErrNotChecked)
		}
		length = int(binary.BigEndian.Uint16(seg[4:6])) // the UDP length field
		if length < 8 || length > len(seg) {
			return Bad, nil
		}
		seg = seg[:length]
	} else {
		field = 16
		if len(seg) < 20 {
			return Bad, fmt.Errorf("TCP header cut short: %w", ErrNotChecked)
		}
	}
	if proto == layers.IPProtocolUDP && binary.BigEndian.Uint16(seg[field:]) == 0 {
		return Absent, nil
	}
	var pseudo [12]byte
	copy(pseudo[0:8], ip.Contents[12:20]) // source and destination address
	pseudo[9] = byte(proto)
	binary.BigEndian.PutUint16(pseudo[10:12], uint16(length))
	if fold(sum(sum(0, pseudo[:]), seg)) != 0xffff {
		return Bad, nil
	}
	return Good, nil
}

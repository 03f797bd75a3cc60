package capture

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// String is the frame in one line, the way `tcpdump -nn -S` prints it
// (local time as the Frame holds it, no TCP options):
//
//	12:00:00.000000 IP 127.0.0.1.40000 > 127.0.0.1.7: UDP, length 6
//	12:00:00.000000 IP 127.0.0.1.40000 > 127.0.0.1.7: Flags [S], seq 1234, win 65495, length 0
//
// A UDP length is the payload's, as tcpdump counts it.
func (f Frame) String() string {
	return f.Time.Format("15:04:05.000000") + " " + f.Summary()
}

// Summary is String without the time.
func (f Frame) Summary() string {
	if f.Packet == nil {
		return fmt.Sprintf("undecoded, length %d", f.Length)
	}
	eth, ok := f.Packet.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok {
		return fmt.Sprintf("truncated Ethernet header, length %d", f.Length)
	}
	ip, ok := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return fmt.Sprintf("ethertype 0x%04x, length %d", uint16(eth.EthernetType), f.Length)
	}
	src, dst := ip.SrcIP.String(), ip.DstIP.String()
	switch l4 := f.Packet.TransportLayer().(type) {
	case *layers.UDP:
		return fmt.Sprintf("IP %s.%d > %s.%d: UDP, length %d",
			src, uint16(l4.SrcPort), dst, uint16(l4.DstPort), int(l4.Length)-8)
	case *layers.TCP:
		var b strings.Builder
		fmt.Fprintf(&b, "IP %s.%d > %s.%d: Flags [%s], seq %d",
			src, uint16(l4.SrcPort), dst, uint16(l4.DstPort), tcpFlags(l4), l4.Seq)
		if n := len(l4.Payload); n > 0 {
			b.WriteString(":" + strconv.FormatUint(uint64(l4.Seq)+uint64(n), 10))
		}
		if l4.ACK {
			fmt.Fprintf(&b, ", ack %d", l4.Ack)
		}
		fmt.Fprintf(&b, ", win %d, length %d", l4.Window, len(l4.Payload))
		return b.String()
	}
	if icmp, ok := f.Packet.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		return fmt.Sprintf("IP %s > %s: ICMP %s, length %d", src, dst, icmpText(icmp), len(ip.Payload))
	}
	return fmt.Sprintf("IP %s > %s: ip-proto-%d %d", src, dst, uint8(ip.Protocol), len(ip.Payload))
}

// Verbose is String with the IPv4 header's fields first, the way
// `tcpdump -v -nn` prints them, the rest on a second line:
//
//	12:00:00.000000 IP (tos 0x0, ttl 64, id 0, offset 0, flags [DF], proto ICMP (1), length 84)
//	    127.0.0.1 > 127.0.0.1: ICMP echo request, id 7, seq 1, length 64
//
// A header checksum that does not verify is named, as tcpdump does:
// ", bad cksum 1234 (->5678)!"; one that does is not.
func (f Frame) Verbose() string {
	line := f.String()
	ip, err := f.ipv4()
	if err != nil {
		return line
	}
	var flags string
	if ip.Flags&layers.IPv4DontFragment != 0 {
		flags += "DF"
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 {
		flags += "+"
	}
	if flags == "" {
		flags = "none"
	}
	hdr := fmt.Sprintf("IP (tos 0x%x, ttl %d, id %d, offset %d, flags [%s], proto %s (%d), length %d",
		ip.TOS, ip.TTL, ip.Id, int(ip.FragOffset)*8, flags, strings.ToUpper(Proto(ip.Protocol).String()), uint8(ip.Protocol), ip.Length)
	if v, err := f.CheckIPv4(); err == nil && v == Bad {
		hdr += fmt.Sprintf(", bad cksum %x (->%x)!", ip.Checksum, ipv4Checksum(ip))
	}
	rest := strings.TrimPrefix(f.Summary(), "IP ")
	return f.Time.Format("15:04:05.000000") + " " + hdr + ")\n    " + rest
}

// icmpText is an ICMP message as tcpdump -nn names it: "echo request, id
// 7, seq 1", "127.0.0.1 udp port 9 unreachable", "time exceeded in-transit".
func icmpText(m *layers.ICMPv4) string {
	switch m.TypeCode.Type() {
	case layers.ICMPv4TypeEchoRequest:
		return fmt.Sprintf("echo request, id %d, seq %d", m.Id, m.Seq)
	case layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("echo reply, id %d, seq %d", m.Id, m.Seq)
	case layers.ICMPv4TypeDestinationUnreachable:
		// The payload holds the offending datagram's IPv4 header and the
		// first 8 bytes after it: its destination, protocol and ports.
		var inner layers.IPv4
		if err := inner.DecodeFromBytes(m.Payload, gopacket.NilDecodeFeedback); err != nil {
			return "unreachable"
		}
		dst := inner.DstIP.String()
		switch m.TypeCode.Code() {
		case layers.ICMPv4CodeNet:
			return fmt.Sprintf("net %s unreachable", dst)
		case layers.ICMPv4CodeHost:
			return fmt.Sprintf("host %s unreachable", dst)
		case layers.ICMPv4CodeProtocol:
			return fmt.Sprintf("%s protocol %d unreachable", dst, uint8(inner.Protocol))
		case layers.ICMPv4CodePort:
			if l4 := inner.Payload; len(l4) >= 4 && (inner.Protocol == layers.IPProtocolUDP || inner.Protocol == layers.IPProtocolTCP) {
				return fmt.Sprintf("%s %s port %d unreachable", dst, strings.ToLower(inner.Protocol.String()), binary.BigEndian.Uint16(l4[2:4]))
			}
			return fmt.Sprintf("%s port unreachable", dst)
		}
		return fmt.Sprintf("%s unreachable - code %d", dst, m.TypeCode.Code())
	case layers.ICMPv4TypeTimeExceeded:
		if m.TypeCode.Code() == layers.ICMPv4CodeTTLExceeded {
			return "time exceeded in-transit"
		}
		return "ip reassembly time exceeded"
	}
	return fmt.Sprintf("type-#%d", m.TypeCode.Type())
}

// tcpFlags spells the TCP flags in tcpdump's letters and order, "." for
// ACK: a SYN is "S", its answer "S.", a push of data "P.".
func tcpFlags(t *layers.TCP) string {
	var b []byte
	for _, fl := range []struct {
		on bool
		c  byte
	}{
		{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'},
		{t.ACK, '.'}, {t.URG, 'U'}, {t.ECE, 'E'}, {t.CWR, 'W'},
	} {
		if fl.on {
			b = append(b, fl.c)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

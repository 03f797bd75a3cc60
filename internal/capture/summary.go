package capture

import (
	"fmt"
	"strconv"
	"strings"

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
		return fmt.Sprintf("IP %s > %s: ICMP %v, length %d", src, dst, icmp.TypeCode, len(ip.Payload))
	}
	return fmt.Sprintf("IP %s > %s: ip-proto-%d %d", src, dst, uint8(ip.Protocol), len(ip.Payload))
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

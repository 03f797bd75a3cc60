package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/socklab/socklab/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// noon is the time given to stored frames.
var noon = time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)

// stored loads testdata/name.hex: hex digits, '#' lines being comments.
func stored(t *testing.T, name string, notReady bool) Frame {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "#") {
			h.WriteString(strings.TrimSpace(line))
		}
	}
	data, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f := Decode(gopacket.CaptureInfo{Timestamp: noon}, data)
	f.CsumNotReady = notReady
	return f
}

var storedFrames = []struct {
	name       string
	notReady   bool // TP_STATUS_CSUMNOTREADY was set when it was captured
	summary    string
	ip, l4     Verdict
	src, dst   uint16
	payload    string
	udpLength  uint16 // UDP length field; 0 for TCP
	tcpOptions int    // number of TCP options
}{
	{"udp_hello", false, "IP 127.0.0.1.40000 > 127.0.0.1.7: UDP, length 6", Good, Good, 40000, 7, "hello\n", 14, 0},
	{"udp_partial", true, "IP 127.0.0.1.40001 > 127.0.0.1.7: UDP, length 6", Good, NotReady, 40001, 7, "hello\n", 14, 0},
	{"udp_badsum", false, "IP 127.0.0.1.40000 > 127.0.0.1.7: UDP, length 6", Good, Bad, 40000, 7, "jello\n", 14, 0},
	{"ipv4_badsum", false, "IP 127.0.0.1.40000 > 127.0.0.1.7: UDP, length 6", Bad, Good, 40000, 7, "hello\n", 14, 0},
	{"tcp_syn", true, "IP 127.0.0.1.40002 > 127.0.0.1.7: Flags [S], seq 4191391376, win 65495, length 0", Good, NotReady, 40002, 7, "", 0, 5},
	{"tcp_data", true, "IP 127.0.0.1.40002 > 127.0.0.1.7: Flags [P.], seq 4191391377:4191391383, ack 3672125612, win 64, length 6", Good, NotReady, 40002, 7, "hello\n", 0, 3},
}

func TestStoredFrames(t *testing.T) {
	for _, c := range storedFrames {
		t.Run(c.name, func(t *testing.T) {
			f := stored(t, c.name, c.notReady)
			if err := f.Packet.ErrorLayer(); err != nil {
				t.Fatalf("decoding: %v", err.Error())
			}
			// lo's frames have an Ethernet header with zero MACs.
			eth := f.Packet.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if !bytes.Equal(eth.SrcMAC, make([]byte, 6)) || !bytes.Equal(eth.DstMAC, make([]byte, 6)) ||
				eth.EthernetType != layers.EthernetTypeIPv4 {
				t.Errorf("Ethernet %v > %v type %v, want zero MACs and IPv4", eth.SrcMAC, eth.DstMAC, eth.EthernetType)
			}
			ip := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip.SrcIP.String() != "127.0.0.1" || ip.DstIP.String() != "127.0.0.1" || ip.IHL != 5 {
				t.Errorf("IPv4 %v > %v IHL %d", ip.SrcIP, ip.DstIP, ip.IHL)
			}
			var src, dst uint16
			switch l4 := f.Packet.TransportLayer().(type) {
			case *layers.UDP:
				src, dst = uint16(l4.SrcPort), uint16(l4.DstPort)
				if l4.Length != c.udpLength {
					t.Errorf("UDP length %d, want %d", l4.Length, c.udpLength)
				}
			case *layers.TCP:
				src, dst = uint16(l4.SrcPort), uint16(l4.DstPort)
				if len(l4.Options) != c.tcpOptions {
					t.Errorf("%d TCP options (%v), want %d", len(l4.Options), l4.Options, c.tcpOptions)
				}
			default:
				t.Fatalf("transport layer %T", l4)
			}
			if src != c.src || dst != c.dst {
				t.Errorf("ports %d > %d, want %d > %d", src, dst, c.src, c.dst)
			}
			if got := string(f.Packet.TransportLayer().LayerPayload()); got != c.payload {
				t.Errorf("payload %q, want %q", got, c.payload)
			}
			if got, want := f.String(), "12:00:00.000000 "+c.summary; got != want {
				t.Errorf("String:\n got %s\nwant %s", got, want)
			}
			if v, err := f.CheckIPv4(); v != c.ip || err != nil {
				t.Errorf("CheckIPv4 = %v, %v; want %v", v, err, c.ip)
			}
			check, other := f.CheckUDP, f.CheckTCP
			if c.udpLength == 0 {
				check, other = other, check
			}
			if v, err := check(); v != c.l4 || err != nil {
				t.Errorf("transport checksum %v, %v; want %v", v, err, c.l4)
			}
			if _, err := other(); !errors.Is(err, ErrNotChecked) {
				t.Errorf("checking the other transport's checksum: %v, want ErrNotChecked", err)
			}
		})
	}
}

// On lo the kernel leaves a TCP or UDP checksum partial (CHECKSUM_PARTIAL):
// the field holds the folded pseudo-header sum, and a NIC would finish it
// by summing the segment from the header on and storing the complement.
// Finishing it here must give a checksum that verifies.
func TestPartialChecksum(t *testing.T) {
	for _, c := range storedFrames {
		if !c.notReady {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			f := stored(t, c.name, false) // pretend the kernel said it was complete
			if v, _ := f.checkL4(protoOf(c.udpLength)); v != Bad {
				t.Errorf("partial checksum judged %v, want bad", v)
			}
			ip := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			seg := ip.Payload
			at := 16 // TCP checksum
			if c.udpLength != 0 {
				at = 6
			}
			var pseudo [12]byte
			copy(pseudo[:8], ip.Contents[12:20])
			pseudo[9] = byte(ip.Protocol)
			binary.BigEndian.PutUint16(pseudo[10:], uint16(len(seg)))
			if got, want := binary.BigEndian.Uint16(seg[at:]), fold(sum(0, pseudo[:])); got != want {
				t.Errorf("partial field %#04x, want the pseudo-header sum %#04x", got, want)
			}
			if v, err := finish(f).checkL4(protoOf(c.udpLength)); v != Good || err != nil {
				t.Errorf("finished checksum judged %v, %v; want good", v, err)
			}
		})
	}
}

// finish completes a partial TCP or UDP checksum as a NIC would (sum the
// segment, the field holding the pseudo-header sum, store the complement)
// and returns the frame decoded afresh, marked ready.
func finish(f Frame) Frame {
	data := bytes.Clone(f.Data)
	ip := Decode(gopacket.CaptureInfo{}, data).Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	seg := ip.Payload
	at := 16 // TCP checksum
	if ip.Protocol == layers.IPProtocolUDP {
		at = 6
	}
	binary.BigEndian.PutUint16(seg[at:], ^fold(sum(0, seg)))
	return Decode(gopacket.CaptureInfo{Timestamp: f.Time}, data)
}

func protoOf(udpLength uint16) layers.IPProtocol {
	if udpLength != 0 {
		return layers.IPProtocolUDP
	}
	return layers.IPProtocolTCP
}

// RFC 1071, section 3: the example sum.
func TestSum(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := fold(sum(0, b)); got != 0xddf2 {
		t.Errorf("sum = %#04x, want 0xddf2", got)
	}
	if got := fold(sum(0, []byte{0x01, 0x02, 0x03})); got != 0x0402 { // odd byte padded: 0102 + 0300
		t.Errorf("odd sum = %#04x, want 0x0402", got)
	}
	if got := fold(sum(0, bytes.Repeat([]byte{0xff}, 1<<17))); got != 0xffff {
		t.Errorf("sum of 128 KiB of 0xff = %#04x, want 0xffff", got)
	}
}

// build serializes an Ethernet/IPv4/transport frame with gopacket, whose
// checksum code is an implementation independent of ours.
func build(t *testing.T, options []layers.IPv4Option, l4 gopacket.SerializableLayer, payload []byte) Frame {
	t.Helper()
	eth := &layers.Ethernet{EthernetType: layers.EthernetTypeIPv4, SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6)}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: []byte{10, 1, 2, 3}, DstIP: []byte{192, 168, 200, 9},
		Id: 0xbeef, Options: options}
	switch l := l4.(type) {
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		l.SetNetworkLayerForChecksum(ip)
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		l.SetNetworkLayerForChecksum(ip)
	case *layers.ICMPv4:
		ip.Protocol = layers.IPProtocolICMPv4
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return Decode(gopacket.CaptureInfo{Timestamp: noon}, bytes.Clone(buf.Bytes()))
}

// Our sums agree with gopacket's on frames it builds, IPv4 options and odd
// lengths included, and any changed byte makes them fail.
func TestChecksumsAgainstGopacket(t *testing.T) {
	rr := []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}, {OptionType: 0}}
	for _, options := range [][]layers.IPv4Option{nil, rr} {
		for _, n := range []int{0, 1, 6, 7, 1001} {
			payload := bytes.Repeat([]byte{0xa5, 0x17, 0xff}, n)[:n]
			udp := build(t, options, &layers.UDP{SrcPort: 53, DstPort: 40000}, payload)
			tcp := build(t, options, &layers.TCP{SrcPort: 80, DstPort: 40000, Seq: 7, Ack: 9, ACK: true, PSH: true, Window: 512}, payload)
			for _, c := range []struct {
				f     Frame
				check func() (Verdict, error)
			}{{udp, udp.CheckUDP}, {tcp, tcp.CheckTCP}} {
				ip := c.f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				want := 5
				if options != nil {
					want = 7 // 20 bytes and 8 of options
				}
				if int(ip.IHL) != want {
					t.Fatalf("IHL %d, want %d", ip.IHL, want)
				}
				if v, err := c.f.CheckIPv4(); v != Good || err != nil {
					t.Errorf("%s: IPv4 %v, %v", c.f.Summary(), v, err)
				}
				if v, err := c.check(); v != Good || err != nil {
					t.Errorf("%s: transport %v, %v", c.f.Summary(), v, err)
				}
				// Change a byte of the addresses, then of the segment.
				c.f.Data[14+15] ^= 0x01
				if v, _ := c.f.CheckIPv4(); v != Bad {
					t.Errorf("%s: changed source address, IPv4 still %v", c.f.Summary(), v)
				}
				if v, _ := c.check(); v != Bad {
					t.Errorf("%s: changed source address, transport still %v", c.f.Summary(), v)
				}
				c.f.Data[14+15] ^= 0x01
				last := 14 + int(ip.Length) - 1 // short frames end in Ethernet padding
				c.f.Data[last] ^= 0x01
				if v, _ := c.check(); v != Bad {
					t.Errorf("%s: changed last byte, transport still %v", c.f.Summary(), v)
				}
				if len(c.f.Data) > last+1 {
					c.f.Data[last] ^= 0x01
					c.f.Data[last+1] ^= 0x01 // padding is in no checksum
					if v, err := c.check(); v != Good || err != nil {
						t.Errorf("%s: changed padding, transport %v, %v", c.f.Summary(), v, err)
					}
				}
			}
		}
	}
	// A zero UDP checksum means "none computed".
	f := stored(t, "udp_hello", false)
	f.Data[14+20+6], f.Data[14+20+7] = 0, 0
	if v, err := f.CheckUDP(); v != Absent || err != nil {
		t.Errorf("zero UDP checksum: %v, %v; want absent", v, err)
	}
	// A frame cut short cannot be judged.
	f = stored(t, "udp_hello", false)
	f = Decode(gopacket.CaptureInfo{Timestamp: noon, Length: len(f.Data)}, f.Data[:len(f.Data)-2])
	if _, err := f.CheckUDP(); !errors.Is(err, ErrNotChecked) {
		t.Errorf("truncated frame: %v, want ErrNotChecked", err)
	}
}

func TestSummaryOthers(t *testing.T) {
	arp := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06}
	arp = append(arp, make([]byte, 28)...)
	icmp := build(t, nil, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}, []byte("abcd"))
	for _, c := range []struct {
		f    Frame
		want string
	}{
		{Decode(gopacket.CaptureInfo{}, arp), "ethertype 0x0806, length 42"},
		{Decode(gopacket.CaptureInfo{}, arp[:5]), "truncated Ethernet header, length 5"},
		{icmp, "IP 10.1.2.3 > 192.168.200.9: ICMP echo request, id 1, seq 1, length 12"},
	} {
		if got := c.f.Summary(); got != c.want {
			t.Errorf("Summary = %q, want %q", got, c.want)
		}
	}
}

// ICMP frames read as tcpdump -nn prints them, and -v's header line as
// tcpdump -v's, a bad header checksum named with the right one.
func TestSummaryICMP(t *testing.T) {
	// The datagram an unreachable quotes: its IPv4 header and 8 bytes on.
	quoted := build(t, nil, &layers.UDP{SrcPort: 40000, DstPort: 9}, []byte("hello")).Data[14 : 14+28]
	icmp := func(typ, code uint8, payload []byte) Frame {
		return build(t, nil, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: 7, Seq: 3}, payload)
	}
	for _, c := range []struct {
		f    Frame
		want string
	}{
		{icmp(layers.ICMPv4TypeEchoRequest, 0, make([]byte, 56)), "ICMP echo request, id 7, seq 3, length 64"},
		{icmp(layers.ICMPv4TypeEchoReply, 0, make([]byte, 56)), "ICMP echo reply, id 7, seq 3, length 64"},
		{icmp(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, quoted), "ICMP 192.168.200.9 udp port 9 unreachable, length 36"},
		{icmp(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeHost, quoted), "ICMP host 192.168.200.9 unreachable, length 36"},
		{icmp(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol, quoted), "ICMP 192.168.200.9 protocol 17 unreachable, length 36"},
		{icmp(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeTTLExceeded, quoted), "ICMP time exceeded in-transit, length 36"},
		{icmp(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, quoted[:10]), "ICMP unreachable, length 18"},
	} {
		if got, want := c.f.Summary(), "IP 10.1.2.3 > 192.168.200.9: "+c.want; got != want {
			t.Errorf("Summary = %q, want %q", got, want)
		}
	}

	f := icmp(layers.ICMPv4TypeEchoRequest, 0, make([]byte, 56))
	want := "12:00:00.000000 IP (tos 0x0, ttl 64, id 48879, offset 0, flags [none], proto ICMP (1), length 84)\n" +
		"    10.1.2.3 > 192.168.200.9: ICMP echo request, id 7, seq 3, length 64"
	if got := f.Verbose(); got != want {
		t.Errorf("Verbose =\n%s\nwant\n%s", got, want)
	}
	good := binary.BigEndian.Uint16(f.Data[14+10:])
	f.Data[14+10] ^= 0x10 // the header checksum, wrong now
	bad := Decode(gopacket.CaptureInfo{Timestamp: noon}, f.Data)
	wantBad := fmt.Sprintf("flags [none], proto ICMP (1), length 84, bad cksum %x (->%x)!)", good^0x1000, good)
	if got := bad.Verbose(); !strings.Contains(got, wantBad) {
		t.Errorf("Verbose with a bad header checksum = %q, want it to contain %q", got, wantBad)
	}
}

// Stored frames survive a pcap file.
func TestPcapRoundTrip(t *testing.T) {
	var frames []Frame
	for i, c := range storedFrames {
		f := stored(t, c.name, c.notReady)
		f.Time = noon.Add(time.Duration(i)*time.Second + 123456*time.Microsecond)
		frames = append(frames, f)
	}
	var buf bytes.Buffer
	if err := WritePcap(&buf, frames); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPcap(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(frames) {
		t.Fatalf("read %d frames back, wrote %d", len(back), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(back[i].Data, frames[i].Data) || !back[i].Time.Equal(frames[i].Time) ||
			back[i].Length != frames[i].Length || back[i].Summary() != frames[i].Summary() {
			t.Errorf("frame %d: read back %s (%d bytes), wrote %s (%d bytes)",
				i, back[i], len(back[i].Data), frames[i], len(frames[i].Data))
		}
	}
	if _, err := ReadPcap(strings.NewReader("not a pcap file at all")); err == nil {
		t.Error("ReadPcap took garbage")
	}
}

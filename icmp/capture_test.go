package icmp

import (
	"errors"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/socklab/socklab/internal/capture"
)

// The echo exchange as the wire sees it: in a private network namespace,
// capture lo while each implementation pings twice. Exactly two requests
// and two replies cross, decoded by gopacket's ICMPv4 layer, with our
// identifier (on the ping socket, the one the kernel chose and getsockname
// reported), sequences 1 and 2, our data, and checksums that verify.
func TestPingOnTheWire(t *testing.T) {
	for _, im := range impls {
		for _, m := range modes {
			t.Run(im.name+"/"+m.name, func(t *testing.T) {
				var frames []capture.Frame
				var ident int
				inNetns(t, allGroups, func() error {
					c, err := capture.Open("lo", capture.Filter{Proto: capture.Any}) // only our traffic in here
					if err != nil {
						return err
					}
					defer c.Close()
					p, err := im.open(m.unprivileged)
					if err != nil {
						return err
					}
					defer p.close()
					ident = p.ident
					st, err := p.ping(Config{Count: 2, Interval: 20 * time.Millisecond, Size: 24, Timeout: 5 * time.Second, Unprivileged: m.unprivileged})
					if err != nil {
						return err
					}
					if st.Received != 2 {
						return errors.New("not every request was answered")
					}
					for range 5 { // four frames are expected; a fifth must not come
						f, err := c.Next(300 * time.Millisecond)
						if errors.Is(err, capture.ErrTimeout) {
							break
						}
						if err != nil {
							return err
						}
						frames = append(frames, f)
					}
					return nil
				})
				if len(frames) != 4 {
					for _, f := range frames {
						t.Log(f)
					}
					t.Fatalf("captured %d frames, want 4 (request, reply, request, reply)", len(frames))
				}
				for i, f := range frames {
					typ := uint8(layers.ICMPv4TypeEchoRequest)
					if i%2 == 1 {
						typ = layers.ICMPv4TypeEchoReply
					}
					checkWire(t, f, typ, ident, 1+i/2, 24)
				}
			})
		}
	}
}

// checkWire asserts one captured ICMP echo message.
func checkWire(t *testing.T, f capture.Frame, typ uint8, ident, seq, size int) {
	t.Helper()
	ip, _ := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic, _ := f.Packet.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip == nil || ic == nil {
		t.Fatalf("not an IPv4/ICMP frame: %v", f)
	}
	if !ip.SrcIP.Equal([]byte{127, 0, 0, 1}) || !ip.DstIP.Equal([]byte{127, 0, 0, 1}) {
		t.Errorf("%v > %v, want 127.0.0.1 both ways", ip.SrcIP, ip.DstIP)
	}
	if ic.TypeCode != layers.CreateICMPv4TypeCode(typ, 0) || int(ic.Id) != ident || int(ic.Seq) != seq {
		t.Errorf("%v id %d seq %d, want type %d id %d seq %d", ic.TypeCode, ic.Id, ic.Seq, typ, ident, seq)
	}
	if len(ic.Payload) != size {
		t.Errorf("%d data bytes, want %d", len(ic.Payload), size)
	}
	for i, c := range ic.Payload {
		if c != byte(i) {
			t.Errorf("data[%d] = %d, want %d", i, c, byte(i))
			break
		}
	}
	msg := append(append([]byte(nil), ic.Contents...), ic.Payload...)
	if Checksum(msg) != 0 {
		t.Errorf("%v seq %d: ICMP checksum %#04x does not verify", ic.TypeCode, seq, ic.Checksum)
	}
	if v, err := f.CheckIPv4(); v != capture.Good {
		t.Errorf("IPv4 header checksum %v: %v", v, err)
	}
	if ip.TTL != 64 {
		t.Errorf("TTL %d, want the default 64", ip.TTL)
	}
}

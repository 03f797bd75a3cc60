package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// run runs the part of f's program that reads only the frame (bpf.VM
// knows no pkt_type extension) and tells whether it keeps data.
func run(t *testing.T, f Filter, data []byte) bool {
	t.Helper()
	vm, err := bpf.NewVM(f.ipv4())
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	n, err := vm.Run(data)
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	return n > 0
}

func TestFilterVM(t *testing.T) {
	udp := stored(t, "udp_hello", false).Data // 40000 > 7
	tcp := stored(t, "tcp_syn", true).Data    // 40002 > 7
	// 10.1.2.3.53 > 192.168.200.9.40000 with 8 bytes of IPv4 options (IHL 7,
	// record route: 07 07 04 00 00 00 00 00): the ports are 28 bytes into the
	// IPv4 header; 20 bytes in are the options.
	rr := []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}, {OptionType: 0}}
	opts := build(t, rr, &layers.UDP{SrcPort: 53, DstPort: 40000}, []byte("x")).Data
	// The same, as a later fragment: no transport header in it at all.
	frag := append([]byte(nil), opts...)
	frag[14+6], frag[14+7] = 0x00, 0x10 // fragment offset 16 (128 bytes)
	arp := append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06}, make([]byte, 28)...)
	icmp := build(t, nil, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)}, nil).Data

	for _, c := range []struct {
		f    Filter
		data []byte
		name string
		keep bool
	}{
		{Filter{UDP, 7}, udp, "udp dst port", true},
		{Filter{UDP, 40000}, udp, "udp src port", true},
		{Filter{UDP, 8}, udp, "udp other port", false},
		{Filter{UDP, 0}, udp, "udp any port", true},
		{Filter{TCP, 7}, udp, "tcp filter, udp frame", false},
		{Filter{Any, 7}, udp, "any proto, udp port", true},
		{Filter{Any, 0}, udp, "everything IPv4", true},
		{Filter{TCP, 7}, tcp, "tcp dst port", true},
		{Filter{TCP, 40002}, tcp, "tcp src port", true},
		{Filter{TCP, 40000}, tcp, "tcp other port", false},
		{Filter{UDP, 7}, tcp, "udp filter, tcp frame", false},
		{Filter{Any, 40002}, tcp, "any proto, tcp port", true},
		{Filter{UDP, 40000}, opts, "IPv4 options, dst port", true},
		{Filter{UDP, 53}, opts, "IPv4 options, src port", true},
		{Filter{UDP, 0x0707}, opts, "IPv4 options, option bytes where IHL 5 puts the source port", false},
		{Filter{UDP, 0x0400}, opts, "IPv4 options, option bytes where IHL 5 puts the destination port", false},
		{Filter{UDP, 40000}, frag, "later fragment", false},
		{Filter{UDP, 0}, frag, "later fragment, no port asked", true},
		{Filter{Any, 0}, arp, "ARP", false},
		{Filter{Any, 0}, icmp, "ICMP, no port", true},
		{Filter{Any, 7}, icmp, "ICMP with a port", false},
		{Filter{ICMP, 0}, icmp, "icmp filter, ICMP frame", true},
		{Filter{ICMP, 0}, udp, "icmp filter, udp frame", false},
		{Filter{ICMP, 0}, tcp, "icmp filter, tcp frame", false},
		{Filter{UDP, 7}, udp[:30], "truncated", false},
	} {
		if got := run(t, c.f, c.data); got != c.keep {
			t.Errorf("%s: filter %q kept=%v, want %v", c.name, c.f, got, c.keep)
		}
	}
}

func TestFilterProgram(t *testing.T) {
	for _, f := range []Filter{{Any, 0}, {UDP, 0}, {TCP, 0}, {ICMP, 0}, {Any, 7}, {UDP, 65535}, {TCP, 1}} {
		prog, err := f.Instructions()
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		// The kernel-only prefix drops PACKET_OUTGOING before anything else.
		if prog[0] != (bpf.LoadExtension{Num: bpf.ExtType}) {
			t.Errorf("%v: first instruction %v, want ld #type", f, prog[0])
		}
		if _, err := f.Assemble(); err != nil {
			t.Errorf("%v: %v", f, err)
		}
		for i, ins := range prog {
			if j, ok := ins.(bpf.JumpIf); ok && (int(j.SkipTrue) >= len(prog)-i-1 || int(j.SkipFalse) >= len(prog)-i-1) {
				t.Errorf("%v: instruction %d (%v) jumps out of the program", f, i, ins)
			}
		}
	}
	for _, f := range []Filter{{Any, -1}, {UDP, 65536}, {Proto(2), 0}, {ICMP, 7}} {
		if _, err := f.Assemble(); err == nil {
			t.Errorf("%+v assembled", f)
		}
	}
	if got, want := (Filter{UDP, 7}).String(), "not outbound and udp and port 7"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := (Filter{Any, 7}).String(), "not outbound and (tcp or udp) and port 7"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Proto is the transport a Filter keeps, by its IPv4 protocol number.
type Proto uint8

// The transports a Filter can select.
const (
	Any  Proto = 0                 // every IPv4 frame; with a port, UDP and TCP
	ICMP Proto = unix.IPPROTO_ICMP // 1; no ports
	TCP  Proto = unix.IPPROTO_TCP  // 6
	UDP  Proto = unix.IPPROTO_UDP  // 17
)

func (p Proto) String() string {
	switch p {
	case Any:
		return "ip"
	case ICMP:
		return "icmp"
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("ip proto %d", uint8(p))
}

// Filter says which frames a Capture keeps. It is compiled to a classic BPF
// program that the kernel runs on every frame before queueing it, so a
// frame the filter rejects costs no copy to user space. Whatever the
// fields, the filter keeps only IPv4 frames (ethertype 0x0800) and drops
// the copy of each frame a packet socket sees leaving (PACKET_OUTGOING): on
// lo every frame passes twice, out and back in, and only the incoming copy
// (PACKET_HOST) is kept.
type Filter struct {
	Proto Proto // Any, ICMP, TCP or UDP
	Port  int   // if not 0, the source or the destination port must be Port
}

// String is the filter in tcpdump's language, for messages.
func (f Filter) String() string {
	s := "not outbound and " + f.Proto.String()
	if f.Port != 0 {
		if f.Proto == Any {
			s = "not outbound and (tcp or udp)"
		}
		s += fmt.Sprintf(" and port %d", f.Port)
	}
	return s
}

// snapRet is what an accepting filter returns: the most bytes of a frame
// the kernel keeps. A Capture reads at most Snaplen of them.
const snapRet = 0x40000

// Jump targets used while building a program, resolved by assemble.
// Real skips in these programs are far smaller.
const (
	toAccept = 0xfe
	toDrop   = 0xff
)

// Instructions returns the BPF program for f, in the notation of
// `tcpdump -d`:
//
//	ld  #type                  ; skb->pkt_type
//	jeq #4 (PACKET_OUTGOING)   drop
//	ldh [12]                   ; ethertype
//	jne #0x800                 drop
//	ldb [23]                   ; IPv4 protocol
//	jne #17                    drop            (when a protocol is chosen)
//	ldh [20]                   ; flags and fragment offset
//	jset #0x1fff               drop            (later fragments carry no ports)
//	ldxb 4*([14]&0xf)          ; X = IPv4 header length (IHL*4)
//	ldh [x+14]                 ; source port
//	jeq #port                  accept
//	ldh [x+16]                 ; destination port
//	jeq #port                  accept else drop
//	accept: ret #262144
//	drop:   ret #0
func (f Filter) Instructions() ([]bpf.Instruction, error) {
	if f.Port < 0 || f.Port > 0xffff {
		return nil, fmt.Errorf("capture: filter port %d out of range", f.Port)
	}
	if f.Proto != Any && f.Proto != ICMP && f.Proto != TCP && f.Proto != UDP {
		return nil, fmt.Errorf("capture: filter protocol %d: want Any, ICMP, TCP or UDP", uint8(f.Proto))
	}
	if f.Proto == ICMP && f.Port != 0 {
		return nil, fmt.Errorf("capture: filter port %d: ICMP has no ports", f.Port)
	}
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: toDrop},
	}
	prog = append(prog, f.ipv4()...)
	return resolve(prog), nil
}

// ipv4 is the part of the program that looks only at the frame's bytes (no
// extension), which bpf.VM can run in tests.
func (f Filter) ipv4() []bpf.Instruction {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.ETH_P_IP, SkipTrue: toDrop},
	}
	switch {
	case f.Proto != Any:
		prog = append(prog,
			bpf.LoadAbsolute{Off: 14 + 9, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(f.Proto), SkipTrue: toDrop})
	case f.Port != 0: // any protocol with ports
		prog = append(prog,
			bpf.LoadAbsolute{Off: 14 + 9, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(TCP), SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(UDP), SkipTrue: toDrop})
	}
	if f.Port != 0 {
		prog = append(prog,
			bpf.LoadAbsolute{Off: 14 + 6, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: toDrop},
			bpf.LoadMemShift{Off: 14},
			bpf.LoadIndirect{Off: 14, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f.Port), SkipTrue: toAccept},
			bpf.LoadIndirect{Off: 14 + 2, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(f.Port), SkipTrue: toAccept, SkipFalse: toDrop})
	}
	return resolve(append(prog,
		bpf.RetConstant{Val: snapRet}, // accept
		bpf.RetConstant{Val: 0},       // drop
	))
}

// resolve turns the toAccept and toDrop targets into skips, given that the
// program's last two instructions are accept and drop.
func resolve(prog []bpf.Instruction) []bpf.Instruction {
	n := len(prog)
	skip := func(i int, target uint8) uint8 {
		switch target {
		case toAccept:
			return uint8(n - 2 - i - 1)
		case toDrop:
			return uint8(n - 1 - i - 1)
		}
		return target
	}
	for i, ins := range prog {
		if j, ok := ins.(bpf.JumpIf); ok {
			j.SkipTrue, j.SkipFalse = skip(i, j.SkipTrue), skip(i, j.SkipFalse)
			prog[i] = j
		}
	}
	return prog
}

// Assemble returns f's program as the kernel takes it (struct sock_filter).
func (f Filter) Assemble() ([]bpf.RawInstruction, error) {
	prog, err := f.Instructions()
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

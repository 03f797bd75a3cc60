package sys

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvmsg(2) with control messages, cmsg(3): the ancillary data a packet
// socket (packet(7)) or SO_TIMESTAMPNS (socket(7)) delivers.

// Recvmsg wraps recvmsg(2) with one buffer: it reads into p, writes control
// messages into oob and the sender's address into from (which may be nil),
// and returns the bytes read, the control bytes written and msg_flags
// (MSG_TRUNC, MSG_CTRUNC). Nothing is allocated: the struct msghdr and its
// iovec live on the stack. On a packet socket, from receives the struct
// sockaddr_ll with sll_pkttype and oob the PACKET_AUXDATA message. A
// timeout from SO_RCVTIMEO fails with EAGAIN. EINTR is retried.
func Recvmsg(fd int, p, oob []byte, flags int, from Sockaddr) (n, oobn, recvflags int, err error) {
	var iov unix.Iovec
	iov.Base = (*byte)(buf(p))
	iov.SetLen(len(p))
	var msg unix.Msghdr
	var namelen uint32
	if from != nil {
		var sa unsafe.Pointer
		sa, namelen = from.pointer()
		msg.Name = (*byte)(sa)
	}
	msg.Iov = &iov
	msg.SetIovlen(1)
	msg.Control = (*byte)(buf(oob))
	for {
		msg.Namelen = namelen // in/out: reset before every attempt
		msg.SetControllen(len(oob))
		msg.Flags = 0
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, 0, 0, wrap("recvmsg", e)
		}
		return int(r), int(msg.Controllen), int(msg.Flags), nil
	}
}

// cmsgData returns the data of the first control message in oob with the
// given level and type, walking the buffer as CMSG_FIRSTHDR, CMSG_NXTHDR and
// CMSG_DATA do (cmsg(3)); nil if there is none. It returns a subslice of
// oob: nothing is copied. Control messages are aligned to 8 bytes on the
// 64-bit targets socklab supports.
func cmsgData(oob []byte, level, typ int) []byte {
	const align = 8
	for len(oob) >= unix.SizeofCmsghdr {
		cmsgLen := binary.NativeEndian.Uint64(oob[0:8]) // cmsg_len: header + data
		lvl := int32(binary.NativeEndian.Uint32(oob[8:12]))
		ty := int32(binary.NativeEndian.Uint32(oob[12:16]))
		if cmsgLen < unix.SizeofCmsghdr || cmsgLen > uint64(len(oob)) {
			return nil
		}
		if int(lvl) == level && int(ty) == typ {
			return oob[unix.SizeofCmsghdr:cmsgLen]
		}
		next := (cmsgLen + align - 1) &^ (align - 1)
		if next >= uint64(len(oob)) {
			return nil
		}
		oob = oob[next:]
	}
	return nil
}

// PacketAuxdata returns the struct tpacket_auxdata that a packet socket
// with PACKET_AUXDATA on (setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)) passes
// with each frame, found in the control bytes Recvmsg filled. tp_status
// carries TP_STATUS_CSUMNOTREADY when the kernel left the transport checksum
// partial (CHECKSUM_PARTIAL: to be finished by a NIC, which on lo never
// happens) and TP_STATUS_CSUM_VALID when it was already verified; tp_len is
// the frame's length before the filter cut it to tp_snaplen.
func PacketAuxdata(oob []byte) (unix.TpacketAuxdata, bool) {
	d := cmsgData(oob, unix.SOL_PACKET, unix.PACKET_AUXDATA)
	if len(d) < 20 { // sizeof(struct tpacket_auxdata)
		return unix.TpacketAuxdata{}, false
	}
	return unix.TpacketAuxdata{
		Status:    binary.NativeEndian.Uint32(d[0:4]),
		Len:       binary.NativeEndian.Uint32(d[4:8]),
		Snaplen:   binary.NativeEndian.Uint32(d[8:12]),
		Mac:       binary.NativeEndian.Uint16(d[12:14]),
		Net:       binary.NativeEndian.Uint16(d[14:16]),
		Vlan_tci:  binary.NativeEndian.Uint16(d[16:18]),
		Vlan_tpid: binary.NativeEndian.Uint16(d[18:20]),
	}, true
}

// Timestampns returns the struct timespec of the SCM_TIMESTAMPNS control
// message that a socket with SO_TIMESTAMPNS on receives with each packet:
// the time the kernel took the packet in, found in the control bytes
// Recvmsg filled.
func Timestampns(oob []byte) (unix.Timespec, bool) {
	d := cmsgData(oob, unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS)
	if len(d) < 16 {
		return unix.Timespec{}, false
	}
	return unix.Timespec{
		Sec:  int64(binary.NativeEndian.Uint64(d[0:8])),
		Nsec: int64(binary.NativeEndian.Uint64(d[8:16])),
	}, true
}

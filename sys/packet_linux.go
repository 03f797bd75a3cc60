package sys

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// This file holds what a netlink-free packet capture needs: interface
// indexes and flags by ioctl (netdevice(7)), a classic BPF socket filter,
// recvmsg(2) with control messages (packet(7)), and unshare(2).

// IfIndex returns the index of interface name, as if_nametoindex(3) does:
// ioctl(fd, SIOCGIFINDEX, &ifr) on a throwaway AF_INET datagram socket.
// The net package's interface lookups ask over an AF_NETLINK socket
// instead; this never does. The answer is for the calling thread's network namespace; an
// unknown name fails with ENODEV, a name of IFNAMSIZ bytes or more with
// EINVAL. Errors are named "ioctl" (or "socket" for the throwaway socket).
func IfIndex(name string) (int, error) {
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return -1, named("ioctl", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return -1, named("ioctl", err)
	}
	return int(ifr.Uint32()), nil // ifr_ifindex
}

// SetIfUp sets IFF_UP on interface name, what `ip link set name up` does
// over netlink, here with ioctl(SIOCGIFFLAGS) then ioctl(SIOCSIFFLAGS) on a
// throwaway AF_INET datagram socket. Setting flags needs CAP_NET_ADMIN in
// the thread's network namespace (EPERM otherwise). A new namespace has only
// lo, down; bringing lo up also gives it 127.0.0.1/8 and ::1. Errors are
// named "ioctl" (or "socket").
func SetIfUp(name string) error {
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return named("ioctl", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return named("ioctl", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP) // ifr_flags is a short
	return named("ioctl", unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr))
}

// SetsockoptFilter attaches a classic BPF program to a socket:
// setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog). The
// kernel checks and copies the program, which then runs on every frame
// before it is queued: what it rejects never reaches the socket's buffer.
// A later call replaces the program. bpf.RawInstruction has the layout of
// struct sock_filter; at most BPF_MAXINSNS (4096) instructions.
func SetsockoptFilter(fd int, prog []bpf.RawInstruction) error {
	if len(prog) > 0xffff {
		return named("setsockopt", unix.EINVAL) // sock_fprog.len is 16 bits wide
	}
	var fprog unix.SockFprog
	fprog.Len = uint16(len(prog))
	if len(prog) > 0 {
		fprog.Filter = (*unix.SockFilter)(unsafe.Pointer(&prog[0])) // same layout as struct sock_filter
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		uintptr(unsafe.Pointer(&fprog)), unsafe.Sizeof(fprog), 0)
	return wrap("setsockopt", e)
}

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

// Unshare wraps unshare(2). With CLONE_NEWNET it moves the calling thread,
// and only that thread, into a new network namespace; in Go the caller
// must hold runtime.LockOSThread and should let that thread die with its
// goroutine. Needs CAP_SYS_ADMIN (EPERM otherwise).
func Unshare(flags int) error {
	_, _, e := unix.RawSyscall(unix.SYS_UNSHARE, uintptr(flags), 0, 0)
	return wrap("unshare", e)
}

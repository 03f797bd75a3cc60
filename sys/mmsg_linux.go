package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mmsghdr is struct mmsghdr (recvmmsg(2)): one message header and the
// number of bytes the kernel moved for it. x/sys/unix has no such type.
type Mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
	_   [4]byte // the C struct's tail padding on 64-bit targets
}

// MmsgBatch is a reusable set of n message headers, each pointing at its
// own buffer and address, so that Recvmmsg and Sendmmsg allocate nothing per
// call. Build it once with NewMmsgBatch.
type MmsgBatch struct {
	Hdrs  []Mmsghdr
	Iovs  []unix.Iovec
	Addrs []SockaddrIn
	Bufs  [][]byte
}

// NewMmsgBatch returns n headers, each with a bufsize-byte buffer and a
// sockaddr_in for the peer.
func NewMmsgBatch(n, bufsize int) *MmsgBatch {
	b := &MmsgBatch{
		Hdrs:  make([]Mmsghdr, n),
		Iovs:  make([]unix.Iovec, n),
		Addrs: make([]SockaddrIn, n),
		Bufs:  make([][]byte, n),
	}
	for i := range n {
		b.Bufs[i] = make([]byte, bufsize)
		b.Iovs[i].Base = &b.Bufs[i][0]
		b.Iovs[i].SetLen(bufsize)
		b.Hdrs[i].Hdr.Iov = &b.Iovs[i]
		b.Hdrs[i].Hdr.SetIovlen(1)
		b.Hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.Addrs[i]))
		b.Hdrs[i].Hdr.Namelen = SizeofSockaddrIn
	}
	return b
}

// SetLen sets the length of message i's single buffer: before Sendmmsg, to
// the number of bytes to send; before Recvmmsg, back to the full buffer.
func (b *MmsgBatch) SetLen(i, n int) { b.Iovs[i].SetLen(n) }

// Recvmmsg wraps recvmmsg(2) with a NULL timeout: it fills up to len(hdrs)
// messages and returns how many. Before each call, reset each header's
// Namelen and iovec length (MmsgBatch.Reset does both). EINTR is retried.
func Recvmmsg(fd int, hdrs []Mmsghdr, flags int) (int, error) {
	if len(hdrs) == 0 {
		return 0, nil
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])),
			uintptr(len(hdrs)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("recvmmsg", e)
		}
		return int(r), nil
	}
}

// Sendmmsg wraps sendmmsg(2): it sends up to len(hdrs) messages and returns
// how many were sent, which may be fewer; the caller sends the rest again.
// EINTR is retried. With MSG_DONTWAIT the call cannot block and is made
// without the scheduler's bookkeeping, as in Sendto.
func Sendmmsg(fd int, hdrs []Mmsghdr, flags int) (int, error) {
	if len(hdrs) == 0 {
		return 0, nil
	}
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])),
			uintptr(len(hdrs)), uintptr(flags), 0, 0)
		if e != 0 {
			return -1, wrap("sendmmsg", e)
		}
		return int(r), nil
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])),
			uintptr(len(hdrs)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, wrap("sendmmsg", e)
		}
		return int(r), nil
	}
}

// Reset prepares every header for Recvmmsg: full buffer, full address
// size, no flags.
func (b *MmsgBatch) Reset() {
	for i := range b.Hdrs {
		b.Iovs[i].SetLen(len(b.Bufs[i]))
		b.Hdrs[i].Hdr.Namelen = SizeofSockaddrIn
		b.Hdrs[i].Hdr.Flags = 0
		b.Hdrs[i].Len = 0
	}
}

package sys_test

import (
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// wantSyscallError checks that err is an *os.SyscallError named name
// wrapping errno.
func wantSyscallError(t *testing.T, err error, name string, errno unix.Errno) {
	t.Helper()
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != name || !errors.Is(err, errno) {
		t.Errorf("got error %#v, want *os.SyscallError %q wrapping %v", err, name, errno)
	}
}

// loopbackUDP opens a UDP socket bound to 127.0.0.1, port chosen by the
// kernel, with a receive timeout, and returns it with its address.
func loopbackUDP(t *testing.T) (int, sys.SockaddrIn) {
	t.Helper()
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close(fd) })
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	if err := sys.Bind(fd, &sa); err != nil {
		t.Fatal(err)
	}
	n := sys.SizeofSockaddrIn
	if err := sys.Getsockname(fd, &sa, &n); err != nil {
		t.Fatal(err)
	}
	if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	return fd, sa
}

func TestIfIndex(t *testing.T) {
	var idx int
	var err error
	nserr := netns.Do(func() error {
		idx, err = sys.IfIndex("lo")
		return nil
	})
	if errors.Is(nserr, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN", nserr)
	}
	if nserr != nil {
		t.Fatal(nserr)
	}
	if err != nil || idx != 1 {
		t.Errorf("IfIndex(lo) in a new namespace = %d, %v; want 1", idx, err)
	}
}

func TestIfIndexErrors(t *testing.T) {
	_, err := sys.IfIndex("nope0")
	wantSyscallError(t, err, "ioctl", unix.ENODEV)
	_, err = sys.IfIndex("a-name-of-sixteen") // IFNAMSIZ is 16 with the NUL
	wantSyscallError(t, err, "ioctl", unix.EINVAL)
	wantSyscallError(t, sys.SetIfUp("nope0"), "ioctl", unix.ENODEV)
}

func TestUnshareError(t *testing.T) {
	wantSyscallError(t, sys.Unshare(0x1), "unshare", unix.EINVAL) // not a CLONE_ flag unshare takes
}

// struct sock_filter and bpf.RawInstruction must share a layout for the
// cast in SetsockoptFilter.
func TestRawInstructionLayout(t *testing.T) {
	if a, b := unsafe.Sizeof(bpf.RawInstruction{}), unsafe.Sizeof(unix.SockFilter{}); a != b || a != 8 {
		t.Fatalf("sizeof RawInstruction = %d, sock_filter = %d, want 8", a, b)
	}
	if unsafe.Offsetof(bpf.RawInstruction{}.K) != unsafe.Offsetof(unix.SockFilter{}.K) {
		t.Fatal("RawInstruction.K and sock_filter.k at different offsets")
	}
}

// A socket filter works on any socket: on a UDP socket, "ret #0" drops
// every datagram before it is queued, "ret #-1" keeps them all.
func TestSetsockoptFilter(t *testing.T) {
	a, aAddr := loopbackUDP(t)
	b, bAddr := loopbackUDP(t)
	dropAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		t.Fatal(err)
	}
	keepAll, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0xffffffff}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.SetsockoptFilter(b, dropAll); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Sendto(a, []byte("dropped"), 0, &bAddr); err != nil {
		t.Fatal(err)
	}
	var p [16]byte
	if n, err := sys.Recvfrom(b, p[:], unix.MSG_DONTWAIT, nil, nil); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("with ret #0 attached got %q, %v; want EAGAIN", p[:max(n, 0)], err)
	}
	if err := sys.SetsockoptFilter(b, keepAll); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Sendto(a, []byte("kept"), 0, &bAddr); err != nil {
		t.Fatal(err)
	}
	var from sys.SockaddrIn
	n, _, _, err := sys.Recvmsg(b, p[:], nil, 0, &from)
	if err != nil || string(p[:n]) != "kept" || from != aAddr {
		t.Fatalf("Recvmsg = %q from %v, %v; want %q from %v", p[:max(n, 0)], &from, err, "kept", &aAddr)
	}
	wantSyscallError(t, sys.SetsockoptFilter(b, nil), "setsockopt", unix.EINVAL)
}

func TestRecvmsg(t *testing.T) {
	a, aAddr := loopbackUDP(t)
	b, bAddr := loopbackUDP(t)
	if err := sys.SetsockoptInt(b, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if _, err := sys.Sendto(a, []byte("hello, world"), 0, &bAddr); err != nil {
		t.Fatal(err)
	}
	var p [5]byte
	oob := make([]byte, 64)
	var from sys.SockaddrIn
	n, oobn, flags, err := sys.Recvmsg(b, p[:], oob, 0, &from)
	if err != nil {
		t.Fatal(err)
	}
	if string(p[:n]) != "hello" || flags&unix.MSG_TRUNC == 0 || from != aAddr {
		t.Errorf("Recvmsg = %q, flags %#x, from %v; want %q, MSG_TRUNC, from %v", p[:n], flags, &from, "hello", &aAddr)
	}
	ts, ok := sys.Timestampns(oob[:oobn])
	if got := time.Unix(ts.Sec, ts.Nsec); !ok || got.Before(before.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("Timestampns = %v, %v; want a time near %v", got, ok, before)
	}
	if _, ok := sys.PacketAuxdata(oob[:oobn]); ok {
		t.Error("PacketAuxdata found a message a UDP socket never sends")
	}

	// A timeout is EAGAIN, named recvmsg.
	if err := sys.SetsockoptTimeval(b, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = sys.Recvmsg(b, p[:], oob, 0, nil)
	wantSyscallError(t, err, "recvmsg", unix.EAGAIN)
}

// Recvmsg allocates nothing per call (sys/doc.go).
func TestRecvmsgAllocs(t *testing.T) {
	a, _ := loopbackUDP(t)
	b, bAddr := loopbackUDP(t)
	msg := []byte("x")
	p := make([]byte, 16)
	oob := make([]byte, 64)
	from := new(sys.SockaddrIn)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := sys.Sendto(a, msg, 0, &bAddr); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := sys.Recvmsg(b, p, oob, 0, from); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Sendto+Recvmsg allocate %v times per call, want 0", allocs)
	}
}

// The control-message walk finds a message after another and refuses a
// malformed length.
func TestPacketAuxdataParse(t *testing.T) {
	oob := make([]byte, 32+40)
	put := func(b []byte, cmsgLen uint64, level, typ int32) {
		*(*uint64)(unsafe.Pointer(&b[0])) = cmsgLen
		*(*int32)(unsafe.Pointer(&b[8])) = level
		*(*int32)(unsafe.Pointer(&b[12])) = typ
	}
	put(oob, 16+12, unix.SOL_SOCKET, unix.SCM_RIGHTS) // padded to 32
	put(oob[32:], 16+20, unix.SOL_PACKET, unix.PACKET_AUXDATA)
	*(*uint32)(unsafe.Pointer(&oob[48])) = unix.TP_STATUS_CSUMNOTREADY // tp_status
	*(*uint32)(unsafe.Pointer(&oob[52])) = 1514                        // tp_len
	aux, ok := sys.PacketAuxdata(oob)
	if !ok || aux.Status != unix.TP_STATUS_CSUMNOTREADY || aux.Len != 1514 {
		t.Errorf("PacketAuxdata = %+v, %v", aux, ok)
	}
	put(oob, 200, unix.SOL_SOCKET, unix.SCM_RIGHTS) // longer than the buffer
	if _, ok := sys.PacketAuxdata(oob); ok {
		t.Error("PacketAuxdata walked past a malformed cmsg_len")
	}
}

package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// ErrTimeout is returned (wrapped) by Next when no frame came in time.
var ErrTimeout = errors.New("capture: no frame before the timeout")

// Capture reads the frames of one interface through an AF_PACKET socket. It
// is not safe for concurrent use; Close it once Next has returned.
type Capture struct {
	fd     int
	ifname string
	buf    []byte
	oob    []byte
	from   sys.SockaddrLL
	// outgoing counts PACKET_OUTGOING frames that reached user space and
	// were dropped there; with the kernel filter working it stays 0.
	outgoing int
}

// Frame is one captured frame.
type Frame struct {
	Time         time.Time       // when the kernel took the frame in (SO_TIMESTAMPNS)
	Data         []byte          // the captured bytes, from the Ethernet header on
	Length       int             // the frame's length; more than len(Data) if cut at Snaplen
	Ifindex      int             // sll_ifindex
	Pkttype      int             // sll_pkttype: unix.PACKET_HOST, PACKET_OUTGOING, ...
	CsumNotReady bool            // TP_STATUS_CSUMNOTREADY: the kernel left the TCP/UDP checksum partial
	CsumValid    bool            // TP_STATUS_CSUM_VALID: the TCP/UDP checksum was already verified
	Packet       gopacket.Packet // Data decoded from its Ethernet header
}

// Open starts capturing the IPv4 frames of interface ifname that f
// selects. It opens the packet socket as tcpdump does, so that nothing
// unfiltered is ever queued:
//
//	socket(AF_PACKET, SOCK_RAW, 0)          protocol 0: receives nothing yet
//	setsockopt(SO_ATTACH_FILTER, f)         the BPF program, run in the kernel
//	setsockopt(PACKET_AUXDATA, 1)           checksum status with each frame
//	setsockopt(SO_TIMESTAMPNS, 1)           kernel receive time with each frame
//	bind(sockaddr_ll{ETH_P_ALL, ifindex})   now frames of ifindex flow in
//
// The interface index comes from ioctl(SIOCGIFINDEX), never netlink. The
// socket belongs to the calling thread's network namespace. Opening a
// packet socket needs CAP_NET_RAW: errors.Is(err, unix.EPERM) tells.
func Open(ifname string, f Filter) (*Capture, error) {
	prog, err := f.Assemble()
	if err != nil {
		return nil, err
	}
	ifindex, err := sys.IfIndex(ifname)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", ifname, err)
	}
	fd, err := sys.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", ifname, err)
	}
	if err := setup(fd, ifindex, prog); err != nil {
		sys.Close(fd)
		return nil, fmt.Errorf("capture %s: %w", ifname, err)
	}
	return &Capture{
		fd:     fd,
		ifname: ifname,
		buf:    make([]byte, Snaplen),
		oob:    make([]byte, 128), // tpacket_auxdata (40) and timespec (32) messages
	}, nil
}

// setup attaches the filter, turns the control messages on and binds.
func setup(fd, ifindex int, prog []bpf.RawInstruction) error {
	if err := sys.SetsockoptFilter(fd, prog); err != nil {
		return err
	}
	if err := sys.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return err
	}
	if err := sys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return err
	}
	sll := sys.SockaddrLL{Family: unix.AF_PACKET, Protocol: sys.Htons(unix.ETH_P_ALL), Ifindex: int32(ifindex)}
	return sys.Bind(fd, &sll)
}

// Next returns the next frame, waiting at most timeout for it (a timeout of
// 0 or less only takes a frame already queued). When none comes it returns
// an error for which errors.Is(err, ErrTimeout) holds. The wait is
// SO_RCVTIMEO on the socket, set to the time left before each recvmsg.
func (c *Capture) Next(timeout time.Duration) (Frame, error) {
	deadline := time.Now().Add(timeout)
	for range 1024 { // bounded: each turn either returns or skips one frame
		flags := 0
		if timeout <= 0 {
			flags = unix.MSG_DONTWAIT
		} else {
			left := time.Until(deadline)
			if left <= 0 {
				return Frame{}, fmt.Errorf("capture %s (waited %v): %w", c.ifname, timeout, ErrTimeout)
			}
			if err := sys.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, left); err != nil {
				return Frame{}, fmt.Errorf("capture %s: %w", c.ifname, err)
			}
		}
		c.from = sys.SockaddrLL{}
		n, oobn, _, err := sys.Recvmsg(c.fd, c.buf, c.oob, flags, &c.from)
		if errors.Is(err, unix.EAGAIN) {
			return Frame{}, fmt.Errorf("capture %s (waited %v): %w (%w)", c.ifname, timeout, ErrTimeout, err)
		}
		if err != nil {
			return Frame{}, fmt.Errorf("capture %s: %w", c.ifname, err)
		}
		if c.from.Pkttype == unix.PACKET_OUTGOING {
			c.outgoing++ // the filter should have dropped it; belt and braces
			continue
		}
		return c.frame(n, c.oob[:oobn]), nil
	}
	return Frame{}, fmt.Errorf("capture %s: too many outgoing frames: %w", c.ifname, ErrTimeout)
}

// frame builds the Frame for the n bytes just read.
func (c *Capture) frame(n int, oob []byte) Frame {
	ci := gopacket.CaptureInfo{
		CaptureLength:  n,
		Length:         n,
		InterfaceIndex: int(c.from.Ifindex),
	}
	if ts, ok := sys.Timestampns(oob); ok {
		ci.Timestamp = time.Unix(ts.Sec, ts.Nsec)
	} else {
		ci.Timestamp = time.Now()
	}
	aux, ok := sys.PacketAuxdata(oob)
	if ok && int(aux.Len) > n {
		ci.Length = int(aux.Len) // tp_len: before the cut
	}
	f := Decode(ci, append([]byte(nil), c.buf[:n]...))
	f.Pkttype = int(c.from.Pkttype)
	f.CsumNotReady = aux.Status&unix.TP_STATUS_CSUMNOTREADY != 0
	f.CsumValid = aux.Status&unix.TP_STATUS_CSUM_VALID != 0
	return f
}

// Close closes the packet socket.
func (c *Capture) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := sys.Close(c.fd)
	c.fd = -1
	return err
}

// Decode returns the Frame for Ethernet bytes captured elsewhere (a pcap
// file, a test's stored frame). The packet-socket fields are left zero.
// Zero lengths in ci are taken to mean the whole of data.
func Decode(ci gopacket.CaptureInfo, data []byte) Frame {
	if ci.CaptureLength == 0 {
		ci.CaptureLength = len(data)
	}
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	p.Metadata().CaptureInfo = ci
	return Frame{
		Time:    ci.Timestamp,
		Data:    data,
		Length:  ci.Length,
		Ifindex: ci.InterfaceIndex,
		Packet:  p,
	}
}

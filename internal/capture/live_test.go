package capture

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// udpSocket opens a UDP socket on 127.0.0.1, port chosen by the kernel,
// with a receive timeout, and returns it with its address.
func udpSocket() (int, sys.SockaddrIn, error) {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, sys.SockaddrIn{}, err
	}
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	n := sys.SizeofSockaddrIn
	if err = sys.Bind(fd, &sa); err == nil {
		err = sys.Getsockname(fd, &sa, &n)
	}
	if err == nil {
		err = sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second)
	}
	if err != nil {
		sys.Close(fd)
		return -1, sys.SockaddrIn{}, err
	}
	return fd, sa, nil
}

// sendRecv sends msg from fd to `to` and reads it at the receiving socket
// rfd, so that the frame has certainly crossed lo when it returns.
func sendRecv(t *testing.T, fd int, msg string, to *sys.SockaddrIn, rfd int) {
	t.Helper()
	if _, err := sys.Sendto(fd, []byte(msg), 0, to); err != nil {
		t.Fatal(err)
	}
	var buf [64]byte
	n, err := sys.Recvfrom(rfd, buf[:], 0, nil, nil)
	if err != nil || string(buf[:n]) != msg {
		t.Fatalf("recvfrom got %q, %v; want %q", buf[:max(n, 0)], err, msg)
	}
}

// liveCapture captures, inside a private network namespace, a request
// "ping" a > b and its reply "pong" b > a with a filter on b's port, and a
// datagram a > other the filter must drop; it returns the frames captured.
func liveCapture(t *testing.T) (frames []Frame, a, b sys.SockaddrIn) {
	var c *Capture
	var fa, fb, fo = -1, -1, -1
	var other sys.SockaddrIn
	inside := false
	err := netns.Do(func() error {
		inside = true
		var err error
		if fa, a, err = udpSocket(); err != nil {
			return err
		}
		if fb, b, err = udpSocket(); err != nil {
			return err
		}
		if fo, other, err = udpSocket(); err != nil {
			return err
		}
		c, err = Open("lo", Filter{Proto: UDP, Port: b.PortOf()})
		return err
	})
	t.Cleanup(func() {
		for _, fd := range []int{fa, fb, fo} {
			if fd >= 0 {
				sys.Close(fd)
			}
		}
		if c != nil {
			c.Close()
		}
	})
	switch {
	case !inside && errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_SYS_ADMIN", err)
	case errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_NET_RAW", err)
	case err != nil:
		t.Fatal(err)
	}

	// Everything from here runs on the test's goroutine, outside the
	// namespace: the sockets stay in it.
	before := time.Now()
	sendRecv(t, fa, "ping", &b, fb)
	sendRecv(t, fb, "pong", &a, fa)
	sendRecv(t, fa, "other", &other, fo)
	after := time.Now()

	for range 10 { // at most 10 frames; 2 are expected
		timeout := 5 * time.Second
		if len(frames) >= 2 {
			timeout = 300 * time.Millisecond // long enough for a stray frame to show
		}
		f, err := c.Next(timeout)
		if errors.Is(err, ErrTimeout) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Time.Before(before) || f.Time.After(after) {
			t.Errorf("frame time %v outside [%v, %v]", f.Time, before, after)
		}
		frames = append(frames, f)
	}
	if c.outgoing != 0 {
		t.Errorf("%d PACKET_OUTGOING copies reached user space; the kernel filter should drop them", c.outgoing)
	}
	return frames, a, b
}

func TestLive(t *testing.T) {
	frames, a, b := liveCapture(t)
	for _, f := range frames {
		t.Logf("%s (pkttype %d, csum not ready %v)", f, f.Pkttype, f.CsumNotReady)
	}
	if len(frames) != 2 {
		t.Fatalf("captured %d frames, want 2 (ping and pong, the outgoing copies and the other port dropped)", len(frames))
	}
	for i, want := range []struct {
		src, dst sys.SockaddrIn
		payload  string
	}{{a, b, "ping"}, {b, a, "pong"}} {
		f := frames[i]
		if f.Pkttype != unix.PACKET_HOST || f.Ifindex != 1 {
			t.Errorf("frame %d: pkttype %d, ifindex %d; want PACKET_HOST on lo (1)", i, f.Pkttype, f.Ifindex)
		}
		if len(f.Data) != f.Length || f.Length != 14+20+8+len(want.payload) {
			t.Errorf("frame %d: %d of %d bytes, want %d", i, len(f.Data), f.Length, 14+20+8+len(want.payload))
		}
		ip, _ := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := f.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil {
			t.Fatalf("frame %d: no IPv4/UDP: %v", i, f.Packet)
		}
		if ip.SrcIP.String() != "127.0.0.1" || ip.DstIP.String() != "127.0.0.1" ||
			int(udp.SrcPort) != want.src.PortOf() || int(udp.DstPort) != want.dst.PortOf() {
			t.Errorf("frame %d: %s, want %v > %v", i, f.Summary(), &want.src, &want.dst)
		}
		if int(udp.Length) != 8+len(want.payload) || string(udp.Payload) != want.payload {
			t.Errorf("frame %d: UDP length %d, payload %q; want %d, %q", i, udp.Length, udp.Payload, 8+len(want.payload), want.payload)
		}
		if v, err := f.CheckIPv4(); v != Good || err != nil {
			t.Errorf("frame %d: IPv4 checksum %v, %v", i, v, err)
		}
		v, err := f.CheckUDP()
		switch {
		case err != nil:
			t.Errorf("frame %d: UDP checksum: %v", i, err)
		case f.CsumNotReady && v != NotReady, !f.CsumNotReady && v != Good:
			t.Errorf("frame %d: UDP checksum %v (csum not ready: %v)", i, v, f.CsumNotReady)
		}
		t.Logf("frame %d: UDP checksum %v", i, v)
		if v == NotReady {
			if v, err := finish(f).CheckUDP(); v != Good || err != nil {
				t.Errorf("frame %d: UDP checksum finished as a NIC would: %v, %v; want good", i, v, err)
			}
		}
	}

	// The frames survive a pcap file, read back with pcapgo.
	path := writeFile(t, frames)
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadPcap(file)
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(frames) {
		t.Fatalf("read %d frames back from %s, wrote %d", len(back), path, len(frames))
	}
	for i := range frames {
		if string(back[i].Data) != string(frames[i].Data) ||
			!back[i].Time.Equal(frames[i].Time.Truncate(time.Microsecond)) { // pcap keeps microseconds
			t.Errorf("frame %d read back as %s, wrote %s", i, back[i], frames[i])
		}
	}

	t.Run("tcpdump", func(t *testing.T) {
		tcpdumpAgrees(t, path, frames)
	})
}

// A datagram whose UDP header and checksum are built in user space and
// sent through a raw IPPROTO_UDP socket is not offloaded: the kernel marks
// it ready, and its checksum verifies.
func TestLiveCompleteChecksum(t *testing.T) {
	var c *Capture
	fb, raw := -1, -1
	var b sys.SockaddrIn
	inside := false
	err := netns.Do(func() error {
		inside = true
		var err error
		if fb, b, err = udpSocket(); err != nil {
			return err
		}
		if raw, err = sys.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP); err != nil {
			return err
		}
		c, err = Open("lo", Filter{Proto: UDP, Port: b.PortOf()})
		return err
	})
	t.Cleanup(func() {
		for _, fd := range []int{fb, raw} {
			if fd >= 0 {
				sys.Close(fd)
			}
		}
		if c != nil {
			c.Close()
		}
	})
	switch {
	case !inside && errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_SYS_ADMIN", err)
	case errors.Is(err, unix.EPERM):
		testenv.Missing(t, "CAP_NET_RAW", err)
	case err != nil:
		t.Fatal(err)
	}

	ip := &layers.IPv4{SrcIP: []byte{127, 0, 0, 1}, DstIP: []byte{127, 0, 0, 1}, Protocol: layers.IPProtocolUDP}
	udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(b.PortOf())}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, udp, gopacket.Payload("hello\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Sendto(raw, buf.Bytes(), 0, &b); err != nil { // the kernel adds the IPv4 header
		t.Fatal(err)
	}
	var p [16]byte
	if n, err := sys.Recvfrom(fb, p[:], 0, nil, nil); err != nil || string(p[:n]) != "hello\n" {
		t.Fatalf("recvfrom got %q, %v; want %q", p[:max(n, 0)], err, "hello\n")
	}
	f, err := c.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (csum not ready %v)", f, f.CsumNotReady)
	if want := fmt.Sprintf("IP 127.0.0.1.40000 > 127.0.0.1.%d: UDP, length 6", b.PortOf()); f.Summary() != want {
		t.Errorf("got %s, want %s", f.Summary(), want)
	}
	if f.CsumNotReady {
		t.Error("the kernel marked a checksum computed in user space not ready")
	}
	if v, err := f.CheckUDP(); v != Good || err != nil {
		t.Errorf("UDP checksum %v, %v; want good", v, err)
	}
	if v, err := f.CheckIPv4(); v != Good || err != nil {
		t.Errorf("IPv4 checksum %v, %v; want good", v, err)
	}
}

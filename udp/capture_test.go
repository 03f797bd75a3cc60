package udp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// The echo exchange as the wire sees it: in a private network namespace,
// capture lo while the raw client asks the raw server once. Exactly one
// request and one reply cross, with the right addresses, ports, lengths and
// payloads, and checksums that verify (or that the kernel marked not ready).
func TestEchoOnTheWire(t *testing.T) {
	const word = "on the wire"
	var frames []capture.Frame
	var serverPort int
	err := netns.Do(func() error {
		fd, port, err := Listen(0)
		if err != nil {
			return err
		}
		defer sys.Close(fd)
		serverPort = port
		c, err := capture.Open("lo", capture.Filter{Proto: capture.UDP, Port: port})
		if err != nil {
			return err
		}
		defer c.Close()
		done := make(chan error, 1)
		go func() { done <- Echo(fd, EchoConfig{Quiet: true}) }()
		reply, rerr := Request(loopback, port, word, ClientConfig{Timeout: 2 * time.Second})
		Stop(fd)
		if err := <-done; err != nil {
			return err
		}
		if rerr != nil || reply != word {
			return errors.Join(rerr, errors.New("reply "+reply))
		}
		for range 3 { // at most two frames are expected; a third must not come
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
	if errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN and CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 {
		for _, f := range frames {
			t.Log(f)
		}
		t.Fatalf("captured %d frames, want exactly 2 (request, reply)", len(frames))
	}
	req, rep := frames[0], frames[1]
	checkDatagram(t, "request", req, 0, serverPort, word)
	clientPort := int(req.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)
	checkDatagram(t, "reply", rep, serverPort, clientPort, word)

	// The same frames through a pcap file and back.
	path := filepath.Join(t.TempDir(), "echo.pcap")
	var buf bytes.Buffer
	if err := capture.WritePcap(&buf, frames); err != nil {
		t.Fatal(err)
	}
	back, err := capture.ReadPcap(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || !bytes.Equal(back[0].Data, req.Data) || !bytes.Equal(back[1].Data, rep.Data) {
		t.Fatalf("pcap round trip: %d frames, not the captured ones", len(back))
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tcpdump := testenv.Tool(t, "tcpdump")
	out, err := exec.Command(tcpdump, "-nn", "-r", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "UDP, length 11"); n != 2 {
		t.Errorf("tcpdump -r lists %d datagrams of length 11, want 2:\n%s", n, out)
	}
}

// checkDatagram asserts one captured echo datagram; srcPort 0 means any.
func checkDatagram(t *testing.T, what string, f capture.Frame, srcPort, dstPort int, payload string) {
	t.Helper()
	ip, _ := f.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	u, _ := f.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || u == nil {
		t.Fatalf("%s: not an IPv4/UDP frame: %v", what, f)
	}
	if !ip.SrcIP.Equal([]byte{127, 0, 0, 1}) || !ip.DstIP.Equal([]byte{127, 0, 0, 1}) {
		t.Errorf("%s: %v > %v, want 127.0.0.1 both ways", what, ip.SrcIP, ip.DstIP)
	}
	if srcPort != 0 && int(u.SrcPort) != srcPort || int(u.DstPort) != dstPort {
		t.Errorf("%s: ports %d > %d, want %d > %d", what, u.SrcPort, u.DstPort, srcPort, dstPort)
	}
	if int(u.Length) != 8+len(payload) || string(u.Payload) != payload {
		t.Errorf("%s: UDP length %d payload %q, want %d %q", what, u.Length, u.Payload, 8+len(payload), payload)
	}
	if v, err := f.CheckIPv4(); v != capture.Good {
		t.Errorf("%s: IPv4 header checksum %v: %v", what, v, err)
	}
	switch v, err := f.CheckUDP(); v {
	case capture.Good:
		t.Logf("%s: UDP checksum verifies", what)
	case capture.NotReady:
		t.Logf("%s: UDP checksum left partial by the kernel (PACKET_AUXDATA: TP_STATUS_CSUMNOTREADY), not checked", what)
	default:
		t.Errorf("%s: UDP checksum %v: %v", what, v, err)
	}
}

package icmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Ping on golang.org/x/net/icmp, the twin of ping.go with the same steps,
// checks and output. icmp.ListenPacket("ip4:icmp") is the raw socket (the
// net package's IPConn, which strips the IPv4 header of what it reads) and
// icmp.ListenPacket("udp4") the ping socket; icmp.Message builds each
// request, checksum included, and parses each reply, whose checksum
// x/net does not verify: Checksum does. The TTL of every reply comes from
// an IP_TTL control message (ipv4.PacketConn with FlagTTL), raw or not.
//
// Underneath: the net package binds the raw socket to INADDR_ANY, makes
// both sockets SOCK_NONBLOCK|SOCK_CLOEXEC (the ping socket through
// net.FilePacketConn, which dups it), reads with recvmsg and waits in the
// runtime's epoll; the wait is a read deadline, not SO_RCVTIMEO. Like the
// UDP echo client's twin, and unlike the raw program, it resolves names.

// ListenNet opens the endpoint PingNet uses and returns it with the
// identifier its requests carry: the process ID for the raw endpoint, the
// port the kernel gave the ping socket at bind otherwise.
func ListenNet(unprivileged bool) (*xicmp.PacketConn, int, error) {
	network := "ip4:icmp"
	if unprivileged {
		network = "udp4"
	}
	conn, err := xicmp.ListenPacket(network, "0.0.0.0")
	var se *os.SyscallError
	if errors.As(err, &se) && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)) {
		err = se // the refusal itself, without the net package's "listen ip4:icmp 0.0.0.0"
	}
	switch {
	case errors.Is(err, unix.EPERM) && !unprivileged:
		return nil, 0, fmt.Errorf("%s: %w", needRaw, err)
	case errors.Is(err, unix.EACCES) && unprivileged:
		return nil, 0, fmt.Errorf(needGroup+": %w", os.Getegid(), pingGroupRange(), os.Getegid(), os.Getegid(), err)
	case err != nil:
		return nil, 0, fmt.Errorf("Failed to create %s endpoint: %w", network, err)
	}
	if err := conn.IPv4PacketConn().SetControlMessage(ipv4.FlagTTL, true); err != nil {
		conn.Close()
		return nil, 0, fmt.Errorf("Failed to ask for the TTL: %w", err)
	}
	ident := os.Getpid() & 0xffff
	if unprivileged {
		ident = conn.LocalAddr().(*net.UDPAddr).Port
	}
	return conn, ident, nil
}

// ResolveNet returns the IPv4 address of host, a literal or a name looked
// up by Go's own resolver (/etc/hosts, then DNS), never libc's.
func ResolveNet(host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().Is4() {
			return a, fmt.Errorf("%s: not an IPv4 address", host)
		}
		return a.Unmap(), nil
	}
	resolver := &net.Resolver{PreferGo: true}
	ips, err := resolver.LookupNetIP(context.Background(), "ip4", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("Failed to resolve %s: %w", host, err)
	}
	return ips[0].Unmap(), nil
}

// PingNet is Ping on conn, an endpoint from ListenNet. It stops early,
// still printing the summary, when conn is closed.
func PingNet(conn *xicmp.PacketConn, ident int, dst netip.Addr, cfg Config) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	if !dst.Is4() {
		return Stats{}, fmt.Errorf("%w: %s is not an IPv4 address", ErrConfig, dst)
	}
	if err := cfg.checkDest(dst.As4()); err != nil {
		return Stats{}, err
	}
	addr := dst.String()
	name := cfg.Name
	if name == "" {
		name = addr
	}
	var whereto net.Addr = &net.IPAddr{IP: dst.AsSlice()}
	if cfg.Unprivileged {
		whereto = &net.UDPAddr{IP: dst.AsSlice()}
	}
	p := conn.IPv4PacketConn()
	data := make([]byte, cfg.Size)
	for i := range data {
		data[i] = byte(i)
	}
	buf := make([]byte, 65536)
	sent := make([]time.Time, cfg.Count+1)
	answered := make([]bool, cfg.Count+1)
	st := Stats{Ident: ident}
	header(cfg.Out, name, addr, cfg.Size, ident, cfg.Unprivileged)

	start := time.Now()
	stopped := false
	for seq := 1; seq <= cfg.Count && !stopped; seq++ {
		msg := xicmp.Message{Type: ipv4.ICMPTypeEcho, Body: &xicmp.Echo{ID: ident, Seq: seq, Data: data}}
		packet, err := msg.Marshal(nil)
		if err != nil {
			return st, fmt.Errorf("Failed to build echo request: %w", err)
		}
		sent[seq] = time.Now()
		if _, err := conn.WriteTo(packet, whereto); errors.Is(err, net.ErrClosed) {
			break
		} else if err != nil {
			return st, fmt.Errorf("Failed to send echo request: %w", err)
		}
		st.Transmitted++
		deadline := sent[seq].Add(cfg.Interval)
		if seq == cfg.Count {
			deadline = sent[seq].Add(cfg.Timeout)
		}
		p.SetReadDeadline(deadline)
		for range maxTurns {
			if seq == cfg.Count && st.Received == cfg.Count {
				break // all answered
			}
			n, cm, peer, err := p.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // the next request is due
			}
			if errors.Is(err, net.ErrClosed) {
				stopped = true
				break
			}
			if err != nil {
				return st, fmt.Errorf("Failed to receive message: %w", err)
			}
			ttl := -1
			if cm != nil {
				ttl = cm.TTL
			}
			v, rseq := inspectNet(buf[:n], peer, dst, ident, st.Transmitted, cfg.Size)
			if v != Reply {
				st.count(v)
				continue
			}
			st.reply(cfg.Out, addr, n, rseq, ttl, time.Since(sent[rseq]), answered[rseq])
			answered[rseq] = true
		}
	}
	st.Elapsed = time.Since(start)
	st.summary(cfg.Out, name)
	return st, nil
}

// inspectNet judges one ICMP message as inspect does, parsed by x/net.
func inspectNet(b []byte, peer net.Addr, dst netip.Addr, ident, sent, size int) (Verdict, int) {
	if len(b) < HeaderLen {
		return Truncated, 0
	}
	if Checksum(b) != 0 {
		return BadChecksum, 0
	}
	m, err := xicmp.ParseMessage(1, b) // 1: IPPROTO_ICMP
	if err != nil {
		return Truncated, 0
	}
	switch m.Type {
	case ipv4.ICMPTypeEcho:
		return Request, 0
	case ipv4.ICMPTypeEchoReply:
	default:
		return Other, 0
	}
	echo, ok := m.Body.(*xicmp.Echo)
	if !ok {
		return Truncated, 0
	}
	var src netip.Addr
	switch a := peer.(type) {
	case *net.IPAddr:
		src, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		src, _ = netip.AddrFromSlice(a.IP)
	}
	if src = src.Unmap(); !src.Is4() {
		return Foreign, 0
	}
	return checkEcho(src.As4(), dst.As4(), echo.ID, echo.Seq, echo.Data, ident, sent, size), echo.Seq
}

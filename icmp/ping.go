package icmp

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Raw ping, the Go mirror of testdata/ping.c (Stevens, UNP chapter 28):
//
//	socket(SOCK_RAW, IPPROTO_ICMP)                          identifier: getpid() & 0xffff
//	  or socket(SOCK_DGRAM, IPPROTO_ICMP) -> bind -> getsockname -> setsockopt(IP_RECVTTL)
//	loop { sendto(echo request) -> until the next one is due:
//	       setsockopt(SO_RCVTIMEO, time left) -> recvmsg -> check } -> close
//
// The raw socket needs CAP_NET_RAW; each message it receives starts with
// the IPv4 header, which ping reads by hand (IHL, TTL), and it gets every
// ICMP message the host receives: its own echo requests on loopback
// (skipped), other pingers' replies (another identifier: counted, ignored).
// The ping socket (icmp(7), allowed by net.ipv4.ping_group_range) gives
// the ICMP message alone, only replies to its own identifier, which the
// kernel picks at bind and getsockname reports as the port; its TTL comes
// in an IP_TTL control message. Both compute the checksum of a request
// (RFC 1071); the ping socket's kernel recomputes it, having written its
// identifier in.
//
// Differences from Stevens' ping, shared with the C twin: one thread, no
// SIGALRM: after each request it waits in recvmsg, with SO_RCVTIMEO set to
// the time left, until the next is due (Interval) or, after the last,
// until every request is answered or Timeout has passed. Replies are timed
// from send times kept per sequence number, and checked: identifier,
// source, sequence sent, data, checksum, a whole header (see inspect);
// output and statistics are those of iputils ping.
//
// Difference from the C twin, from Go itself: C stops on SIGINT through
// recvmsg failing with EINTR (SO_RCVTIMEO makes it fail so whatever
// SA_RESTART says); a Go signal reaches another thread, so Stop calls
// shutdown(SHUT_RD), which makes recvmsg return 0. strace shows that
// shutdown on the way out.

// Open creates the socket Ping uses and returns it with the identifier
// its requests carry: a raw socket identified by the process ID, or with
// unprivileged the kernel's ping socket, bound to INADDR_ANY so that the
// kernel picks an identifier, and asking for each reply's TTL. A refusal
// says what is missing: CAP_NET_RAW (EPERM) or a group inside
// net.ipv4.ping_group_range (EACCES).
func Open(unprivileged bool) (sock, ident int, err error) {
	if !unprivileged {
		sock, err = sys.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if errors.Is(err, unix.EPERM) {
			return -1, 0, fmt.Errorf("%s: %w", needRaw, err)
		}
		if err != nil {
			return -1, 0, fmt.Errorf("Failed to create raw socket: %w", err)
		}
		return sock, os.Getpid() & 0xffff, nil
	}
	sock, err = sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
	if errors.Is(err, unix.EACCES) {
		return -1, 0, fmt.Errorf(needGroup+": %w", os.Getegid(), pingGroupRange(), os.Getegid(), os.Getegid(), err)
	}
	if err != nil {
		return -1, 0, fmt.Errorf("Failed to create ping socket: %w", err)
	}
	local := sys.NewSockaddrIn([4]byte{}, 0) // INADDR_ANY, identifier 0: the kernel picks one
	if err := sys.Bind(sock, &local); err != nil {
		sys.Close(sock)
		return -1, 0, fmt.Errorf("Failed to bind ping socket: %w", err)
	}
	locallen := sys.SizeofSockaddrIn
	if err := sys.Getsockname(sock, &local, &locallen); err != nil {
		sys.Close(sock)
		return -1, 0, fmt.Errorf("Failed to get socket name: %w", err)
	}
	if err := sys.SetsockoptInt(sock, unix.IPPROTO_IP, unix.IP_RECVTTL, 1); err != nil {
		sys.Close(sock)
		return -1, 0, fmt.Errorf("Failed to ask for the TTL: %w", err)
	}
	return sock, local.PortOf(), nil
}

// Ping sends cfg.Count echo requests to dst on sock, a socket from Open
// with its identifier, prints each good reply and the summary to cfg.Out
// and returns the statistics. It stops early, still printing the summary,
// when Stop is called on sock. It does not close sock.
func Ping(sock, ident int, dst [4]byte, cfg Config) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	if err := cfg.checkDest(dst); err != nil {
		return Stats{}, err
	}
	addr := sys.InetNtoa(dst)
	name := cfg.Name
	if name == "" {
		name = addr
	}
	whereto := sys.NewSockaddrIn(dst, 0)
	packet := make([]byte, HeaderLen+cfg.Size)
	buf := make([]byte, 65536) // the largest IPv4 datagram: nothing is cut
	oob := make([]byte, 64)    // room for one IP_TTL message
	sent := make([]time.Time, cfg.Count+1)
	answered := make([]bool, cfg.Count+1)
	st := Stats{Ident: ident}
	header(cfg.Out, name, addr, cfg.Size, ident, cfg.Unprivileged)

	start := time.Now()
	stopped := false
	for seq := 1; seq <= cfg.Count && !stopped; seq++ {
		fill(packet, ident, seq)
		sent[seq] = time.Now()
		n, err := sys.Sendto(sock, packet, 0, &whereto)
		if err != nil {
			return st, fmt.Errorf("Failed to send echo request: %w", err)
		}
		if n != len(packet) {
			return st, fmt.Errorf("Mismatch in number of sent bytes: %d of %d", n, len(packet))
		}
		st.Transmitted++
		deadline := sent[seq].Add(cfg.Interval)
		if seq == cfg.Count {
			deadline = sent[seq].Add(cfg.Timeout)
		}
		for range maxTurns {
			if seq == cfg.Count && st.Received == cfg.Count {
				break // all answered
			}
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, left); err != nil {
				return st, fmt.Errorf("Failed to set the receive timeout: %w", err)
			}
			var from sys.SockaddrIn
			n, oobn, _, err := sys.Recvmsg(sock, buf, oob, 0, &from)
			if errors.Is(err, unix.EAGAIN) {
				break // the next request is due
			}
			if err != nil {
				return st, fmt.Errorf("Failed to receive message: %w", err)
			}
			if n == 0 {
				stopped = true // shut down by Stop
				break
			}
			icmp, ttl := buf[:n], -1
			if cfg.Unprivileged {
				if t, ok := sys.IPTTL(oob[:oobn]); ok {
					ttl = t
				}
			} else {
				hlen, t, ok := ipHeader(icmp)
				if !ok {
					st.count(Truncated)
					continue
				}
				icmp, ttl = icmp[hlen:], t
			}
			v, rseq := inspect(icmp, from.Addr, dst, ident, st.Transmitted, cfg.Size)
			if v != Reply {
				st.count(v)
				continue
			}
			st.reply(cfg.Out, addr, len(icmp), rseq, ttl, time.Since(sent[rseq]), answered[rseq])
			answered[rseq] = true
		}
	}
	st.Elapsed = time.Since(start)
	st.summary(cfg.Out, name)
	return st, nil
}

// Stop makes Ping on sock return after its summary: shutdown(2) with
// SHUT_RD wakes recvmsg with 0 bytes. The socket is not connected, so the
// kernel answers ENOTCONN, having shut it down all the same; Stop does
// not report that.
func Stop(sock int) error {
	err := sys.Shutdown(sock, unix.SHUT_RD)
	if err != nil && !errors.Is(err, unix.ENOTCONN) {
		return err
	}
	return nil
}

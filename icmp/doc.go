// Package icmp holds socklab's ICMP program, ping: Stevens' ping of UNIX
// Network Programming chapter 28 (ICMP echo request and reply), with the
// output of iputils ping, in two Go versions beside a C reference:
//
//	ping.go            raw: socket, sendto, recvmsg through package sys, over
//	                   a raw socket (SOCK_RAW, CAP_NET_RAW) or the kernel's
//	                   ICMP datagram socket (SOCK_DGRAM, the "ping socket")
//	ping_net.go        the same program on golang.org/x/net/icmp
//	testdata/ping.c    the C twin, compiled by the tests
//
// packet.go has the message and the checks every reply passes (checksum,
// whole headers, type, identifier, source, sequence, data); stats.go the
// counters and the lines printed. Every packet that fails a check is
// counted by its Verdict and otherwise ignored.
//
// The raw program makes the same network system calls as its C twin, in
// the same order; the tests prove it with strace. Every deliberate
// difference is listed in the doc comment of the Go file.
//
// Man pages: socket(2), bind(2), getsockname(2), setsockopt(2), sendto(2),
// recvmsg(2), shutdown(2), cmsg(3), raw(7), icmp(7), ip(7). RFC 792 (ICMP),
// RFC 1071 (the checksum). Linux only.
package icmp

package sys

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// IPTTL returns the TTL of the IP_TTL control message that a socket with
// IP_RECVTTL on (setsockopt(IPPROTO_IP, IP_RECVTTL, 1), ip(7)) receives
// with each datagram, found in the control bytes Recvmsg filled. It is how
// the kernel's ICMP datagram socket (the ping socket, icmp(7)) learns a
// reply's TTL, since that socket, unlike a raw one, hands over no IP
// header. The data is a C int.
func IPTTL(oob []byte) (int, bool) {
	d := cmsgData(oob, unix.IPPROTO_IP, unix.IP_TTL)
	if len(d) < 4 {
		return 0, false
	}
	return int(int32(binary.NativeEndian.Uint32(d))), true
}

package sys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sockaddr is a socket address with the kernel's memory layout, the Go
// counterpart of the C cast (struct sockaddr *)&addr. It is implemented by
// *SockaddrIn and *SockaddrLL.
type Sockaddr interface {
	// pointer returns the address of the struct and its size in bytes.
	pointer() (unsafe.Pointer, uint32)
}

// SockaddrIn is struct sockaddr_in (ip(7)): 16 bytes, port and address in
// network byte order, as the kernel reads them.
type SockaddrIn struct {
	Family uint16  // sin_family: AF_INET
	Port   uint16  // sin_port: network byte order, set it with Htons
	Addr   [4]byte // sin_addr: network byte order
	Zero   [8]byte // sin_zero
}

// SizeofSockaddrIn is sizeof(struct sockaddr_in).
const SizeofSockaddrIn = uint32(unsafe.Sizeof(SockaddrIn{}))

func (sa *SockaddrIn) pointer() (unsafe.Pointer, uint32) {
	return unsafe.Pointer(sa), SizeofSockaddrIn
}

// SockaddrLL is struct sockaddr_ll (packet(7)), a link-level address.
type SockaddrLL struct {
	Family   uint16  // sll_family: AF_PACKET
	Protocol uint16  // sll_protocol: network byte order, set it with Htons
	Ifindex  int32   // sll_ifindex
	Hatype   uint16  // sll_hatype
	Pkttype  uint8   // sll_pkttype: PACKET_HOST, PACKET_OUTGOING, ...
	Halen    uint8   // sll_halen
	Addr     [8]byte // sll_addr
}

// SizeofSockaddrLL is sizeof(struct sockaddr_ll).
const SizeofSockaddrLL = uint32(unsafe.Sizeof(SockaddrLL{}))

func (sa *SockaddrLL) pointer() (unsafe.Pointer, uint32) {
	return unsafe.Pointer(sa), SizeofSockaddrLL
}

// Htons is htons(3): host to network byte order for a 16-bit value. Store
// the result straight into SockaddrIn.Port, as C does.
func Htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// Ntohs is ntohs(3), the inverse of Htons.
func Ntohs(v uint16) uint16 {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	return binary.BigEndian.Uint16(b[:])
}

// ErrNotDottedQuad is returned by InetAddr for anything but four decimal
// octets: host names included, since the C programs do no name lookup.
var ErrNotDottedQuad = errors.New("not a dotted-quad IPv4 address")

// InetAddr parses a dotted-quad IPv4 address ("127.0.0.1") into sin_addr
// bytes. It is stricter than inet_addr(3), which also takes "1.2.3" and
// "0x7f.1": exactly four decimal octets 0..255, no leading '+', no empty
// parts, no leading zeros (which inet_addr reads as octal), so that a host name or a typo is refused rather than turned into a
// surprising address.
func InetAddr(s string) ([4]byte, error) {
	var out [4]byte
	part, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] < '0' || s[i] > '9' {
				return out, fmt.Errorf("%q: %w", s, ErrNotDottedQuad)
			}
			continue
		}
		if part == 4 || i == start || i-start > 3 || (i-start > 1 && s[start] == '0') {
			return out, fmt.Errorf("%q: %w", s, ErrNotDottedQuad)
		}
		v, _ := strconv.Atoi(s[start:i])
		if v > 255 {
			return out, fmt.Errorf("%q: %w", s, ErrNotDottedQuad)
		}
		out[part] = byte(v)
		part++
		start = i + 1
	}
	if part != 4 {
		return out, fmt.Errorf("%q: %w", s, ErrNotDottedQuad)
	}
	return out, nil
}

// InetNtoa is inet_ntoa(3): sin_addr bytes in dotted-quad form.
func InetNtoa(a [4]byte) string {
	return string(AppendInetNtoa(make([]byte, 0, 15), a))
}

// AppendInetNtoa appends the dotted-quad form of a to b, for loops that
// must not allocate.
func AppendInetNtoa(b []byte, a [4]byte) []byte {
	for i, v := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// NewSockaddrIn returns a filled sockaddr_in for addr and port, the three
// assignments every C program makes (sin_family, sin_addr, sin_port).
func NewSockaddrIn(addr [4]byte, port int) SockaddrIn {
	return SockaddrIn{Family: unix.AF_INET, Port: Htons(uint16(port)), Addr: addr}
}

// PortOf returns sin_port in host byte order.
func (sa *SockaddrIn) PortOf() int { return int(Ntohs(sa.Port)) }

// String formats the address as ip:port.
func (sa *SockaddrIn) String() string {
	return InetNtoa(sa.Addr) + ":" + strconv.Itoa(sa.PortOf())
}

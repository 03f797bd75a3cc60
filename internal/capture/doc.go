// Package capture reads the frames of a network interface the way tcpdump
// does on Linux, without libpcap and without netlink, and decodes them with
// gopacket, so that socklab's tests and `socklab capture` can show what a
// program really put on the wire.
//
// Open makes an AF_PACKET socket (packet(7)) with protocol 0, so that it
// receives nothing yet; attaches a classic BPF program assembled with
// golang.org/x/net/bpf (SO_ATTACH_FILTER, socket(7)), which the kernel runs
// on every frame before queueing it; and only then binds the socket to the
// interface with ETH_P_ALL. The filter keeps IPv4 frames of the chosen
// protocol and port, finding the ports behind an IPv4 header of any length
// (IHL), and drops PACKET_OUTGOING frames: on lo each frame is seen twice,
// once leaving and once arriving, and only the arriving copy is kept.
//
// The interface index comes from ioctl(SIOCGIFINDEX) (netdevice(7)), never
// from the net package's interface lookups, gopacket's Ethernet handle or
// any other path that opens an AF_NETLINK socket: the package is
// netlink-free by construction.
// All system calls go through package sys.
//
// Each Frame carries the kernel's receive time (SO_TIMESTAMPNS), the
// packet type from struct sockaddr_ll, and the checksum status from
// PACKET_AUXDATA: lo offloads TCP and UDP checksums, so a datagram sent by
// a local socket is captured with its checksum only partly computed
// (TP_STATUS_CSUMNOTREADY). The checksum checks here say NotReady for those
// rather than Bad. Frames can be written to and read from pcap files
// (pcapgo; LINKTYPE_ETHERNET, snaplen 65535) that tcpdump -r reads.
//
// Man pages: packet(7), netdevice(7), socket(7), recvmsg(2), cmsg(3),
// pcap-filter(7) for the filter's language. Linux only; opening a capture
// needs CAP_NET_RAW. The stored frames in testdata are described in
// testdata/README.md.
package capture

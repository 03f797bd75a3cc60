package icmp_test

import (
	"context"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"time"

	"github.com/socklab/socklab/icmp"
	"github.com/socklab/socklab/sys"
)

// Three echo requests over a raw socket (CAP_NET_RAW), stopped early by
// SIGINT as iputils ping is. The output is that of iputils ping.
func ExamplePing() {
	sock, ident, err := icmp.Open(false)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(sock)
	ctx, release := signal.NotifyContext(context.Background(), os.Interrupt)
	defer release()
	defer context.AfterFunc(ctx, func() { icmp.Stop(sock) })()

	st, err := icmp.Ping(sock, ident, [4]byte{127, 0, 0, 1}, icmp.Config{
		Count: 3, Interval: 200 * time.Millisecond, Size: icmp.DefaultSize, Out: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d of %d answered", st.Received, st.Transmitted)
}

// The net twin over the kernel's ping socket, which needs no privilege
// when net.ipv4.ping_group_range includes the caller's group; the kernel
// chooses the identifier.
func ExamplePingNet() {
	conn, ident, err := icmp.ListenNet(true)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	dst, err := icmp.ResolveNet("localhost")
	if err != nil {
		log.Fatal(err)
	}
	st, err := icmp.PingNet(conn, ident, dst, icmp.Config{
		Count: 3, Interval: 200 * time.Millisecond, Size: icmp.DefaultSize, Unprivileged: true, Name: "localhost", Out: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("identifier %d: %d of %d answered", ident, st.Received, st.Transmitted)
}

// One request over the ping socket, to an address the raw program takes
// as its C twin does: four bytes, no name lookup.
func ExampleOpen() {
	sock, ident, err := icmp.Open(true) // the ping socket
	if err != nil {
		log.Fatal(err) // EACCES: the group is outside net.ipv4.ping_group_range
	}
	defer sys.Close(sock)
	_, err = icmp.Ping(sock, ident, netip.MustParseAddr("127.0.0.1").As4(), icmp.Config{Count: 1, Unprivileged: true, Out: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
}

package udp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The stress client on the net package, the twin of stress_client.go with
// the same steps and checks: net.ListenUDP, WriteToUDPAddrPort,
// ReadMsgUDPAddrPort, Close. Like the tutorial's Python client, and unlike
// the raw and C clients, it resolves host names ("localhost"), with Go's
// own resolver, once per client. The timeout is a read deadline, not
// SO_RCVTIMEO; the clients' goroutines park in the runtime's epoll instead
// of each holding a thread. Underneath, as for the echo client
// (echo_client_net.go): sockets SOCK_NONBLOCK|SOCK_CLOEXEC with
// SO_BROADCAST, bound at once, read with recvmsg.

// StressNet runs the stress client against host:port with package net.
func StressNet(host string, port int, word string, cfg StressConfig) StressResult {
	return runStress(word, cfg, func(message string, w io.Writer) (string, error) {
		buffer := make([]byte, EchoConfig{BufSize: cfg.BufSize}.bufSize())
		resolver := &net.Resolver{PreferGo: true} // never libc's getaddrinfo (netlink)
		ips, err := resolver.LookupNetIP(context.Background(), "ip4", host)
		if err != nil {
			return "", fmt.Errorf("Failed to resolve %s: %w", host, err)
		}
		echoserver := netip.AddrPortFrom(ips[0].Unmap(), uint16(port))
		deadline := time.Now().Add(cfg.Timeout)

		conn, err := net.ListenUDP("udp4", nil)
		if err != nil {
			return "", fmt.Errorf("Failed to create socket: %w", err)
		}
		defer conn.Close()
		if cfg.Timeout > 0 {
			conn.SetReadDeadline(deadline) // a stray does not restart the clock
		}
		sent, err := conn.WriteToUDPAddrPort([]byte(message), echoserver)
		if err != nil {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
		}
		if sent != len(message) {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %d of %d", sent, len(message))
		}
		for {
			received, _, flags, echoclient, err := conn.ReadMsgUDPAddrPort(buffer, nil)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return "", fmt.Errorf("%w from %s before the timeout", ErrNoReply, echoserver)
			}
			if err != nil {
				return "", fmt.Errorf("Failed to receive message: %w", err)
			}
			echoclient = netip.AddrPortFrom(echoclient.Addr().Unmap(), echoclient.Port())
			if echoclient == echoserver {
				if flags&unix.MSG_TRUNC != 0 {
					return "", fmt.Errorf("%w: buffer %d", ErrTruncated, len(buffer))
				}
				return string(buffer[:received]), nil
			}
			fmt.Fprintf(w, "Ignored a datagram from unexpected %s\n", echoclient)
		}
	})
}

package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// UDP echo client on the net package, the twin of echo_client.go with the
// same steps and checks. Like the tutorial's Python client, and unlike the
// raw and C clients, it resolves host names ("localhost").
//
// Underneath, the net package creates the socket SOCK_NONBLOCK|SOCK_CLOEXEC,
// sets SO_BROADCAST, binds nothing until the first send, reads with
// recvmsg, and waits in the runtime's epoll rather than in the kernel's
// recvfrom; the timeout is a read deadline, not SO_RCVTIMEO.

// RequestNet sends word to host:port and returns the reply.
func RequestNet(host string, port int, word string, cfg ClientConfig) (string, error) {
	w := EchoConfig{Log: cfg.Log}.log()
	buffer := make([]byte, EchoConfig{BufSize: cfg.BufSize}.bufSize())
	// Go's own resolver (/etc/hosts, then DNS), never libc's getaddrinfo,
	// which may open a netlink socket to sort its answers.
	resolver := &net.Resolver{PreferGo: true}
	ips, err := resolver.LookupNetIP(context.Background(), "ip4", host)
	if err != nil {
		return "", fmt.Errorf("Failed to resolve %s: %w", host, err)
	}
	echoserver := netip.AddrPortFrom(ips[0].Unmap(), uint16(port))

	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return "", fmt.Errorf("Failed to create socket: %w", err)
	}
	defer conn.Close()
	message := []byte(word)
	for try := 0; ; try++ {
		sent, err := conn.WriteToUDPAddrPort(message, echoserver)
		if err != nil {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
		}
		if sent != len(message) {
			return "", fmt.Errorf("Mismatch in number of sent bytes: %d of %d", sent, len(message))
		}
		if cfg.Timeout > 0 {
			conn.SetReadDeadline(time.Now().Add(cfg.Timeout))
		}
		for {
			received, _, flags, echoclient, err := conn.ReadMsgUDPAddrPort(buffer, nil)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
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
		if try >= cfg.Retries {
			return "", fmt.Errorf("%w from %s after %d tries of %v", ErrNoReply, echoserver, try+1, cfg.Timeout)
		}
	}
}

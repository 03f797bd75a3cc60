package udp

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// UDP echo server on the net package, the twin of echo_server.go with the
// same steps: ListenNet is socket+bind, EchoNet is the recvfrom/sendto loop.
//
// What the net package does differently underneath (socklab compare shows
// it): the socket is created SOCK_NONBLOCK|SOCK_CLOEXEC, SO_BROADCAST is set,
// the fd is registered with the runtime's epoll and every read that would
// block parks the goroutine in epoll_pwait instead of blocking in recvfrom;
// the kernel is read with recvmsg (ReadMsgUDP), which reports MSG_TRUNC in
// the returned flags. ListenNet clears SO_BROADCAST again, so that the
// kernel refuses a reply to a forged broadcast source (EACCES), as it does
// for the raw and C servers (guard.go). Closing the conn, not shutdown, wakes the reader.

// ListenNet binds a UDP socket to port on every IPv4 address. It returns
// the conn and the bound port.
func ListenNet(port int) (*net.UDPConn, int, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se // "bind: address already in use", as the raw server says
		}
		return nil, 0, fmt.Errorf("Failed to bind server socket: %w", err)
	}
	if err := noBroadcast(conn); err != nil {
		conn.Close()
		return nil, 0, err
	}
	return conn, conn.LocalAddr().(*net.UDPAddr).Port, nil
}

// EchoNet is Echo on a *net.UDPConn. It returns nil once conn is closed.
func EchoNet(conn *net.UDPConn, cfg EchoConfig) error {
	w := cfg.log()
	buffer := make([]byte, cfg.bufSize())
	guard := newGuard(cfg.Guard, w)
	defer guard.flush()
	for {
		received, _, flags, client, err := conn.ReadMsgUDPAddrPort(buffer, nil)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("Failed to receive message: %w", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			fmt.Fprintf(w, "Datagram from %s truncated: buffer %d; not echoed\n", client, len(buffer))
			continue
		}
		if guard.refuses(client.Addr().Unmap().As4(), int(client.Port())) {
			continue // the loop guard (guard.go)
		}
		if !cfg.Quiet {
			fmt.Fprintf(w, "Client connected: %s\n", client.Addr().Unmap())
		}
		sent, err := conn.WriteToUDPAddrPort(buffer[:received], client)
		if err != nil || sent != received {
			fmt.Fprintf(w, "Mismatch in number of echo'd bytes: %d of %d to %s: %v\n",
				sent, received, client, err)
		}
	}
}

// noBroadcast clears the SO_BROADCAST that package net sets on every UDP
// socket: a server has no business sending to a broadcast address.
func noBroadcast(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("Failed to clear SO_BROADCAST: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = sys.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 0)
	}); err != nil {
		return fmt.Errorf("Failed to clear SO_BROADCAST: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("Failed to clear SO_BROADCAST: %w", serr)
	}
	return nil
}

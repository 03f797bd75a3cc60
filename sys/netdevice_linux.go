package sys

import (
	"golang.org/x/sys/unix"
)

// Interfaces by ioctl on a throwaway socket, netdevice(7): what a
// netlink-free capture uses where the net package would ask over
// AF_NETLINK.

// IfIndex returns the index of interface name, as if_nametoindex(3) does:
// ioctl(fd, SIOCGIFINDEX, &ifr) on a throwaway AF_INET datagram socket.
// The net package's interface lookups ask over an AF_NETLINK socket
// instead; this never does. The answer is for the calling thread's network namespace; an
// unknown name fails with ENODEV, a name of IFNAMSIZ bytes or more with
// EINVAL. Errors are named "ioctl" (or "socket" for the throwaway socket).
func IfIndex(name string) (int, error) {
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return -1, named("ioctl", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return -1, named("ioctl", err)
	}
	return int(ifr.Uint32()), nil // ifr_ifindex
}

// SetIfUp sets IFF_UP on interface name, what `ip link set name up` does
// over netlink, here with ioctl(SIOCGIFFLAGS) then ioctl(SIOCSIFFLAGS) on a
// throwaway AF_INET datagram socket. Setting flags needs CAP_NET_ADMIN in
// the thread's network namespace (EPERM otherwise). A new namespace has only
// lo, down; bringing lo up also gives it 127.0.0.1/8 and ::1. Errors are
// named "ioctl" (or "socket").
func SetIfUp(name string) error {
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return named("ioctl", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return named("ioctl", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP) // ifr_flags is a short
	return named("ioctl", unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr))
}

// Package netns runs test code inside a private network namespace, so that
// capture tests see only their own traffic and may bind any port without
// touching the host.
//
// It is the Go form of `unshare -n` followed by `ip link set lo up`, without
// netlink: unshare(CLONE_NEWNET) on an OS thread locked for the purpose, and
// ioctl(SIOCSIFFLAGS) for lo's IFF_UP (sys.Unshare, sys.SetIfUp). A network
// namespace belongs to a thread, not to a process, which is why the thread is
// locked and then thrown away rather than handed back to the Go scheduler.
//
// Man pages: unshare(2), network_namespaces(7), netdevice(7). Linux only;
// needs CAP_SYS_ADMIN.
package netns

package strace

import "fmt"

// DiffKind says how a twin's step differs from the raw program's.
type DiffKind string

const (
	TwinOnly  DiffKind = "twin only"   // a step only the twin makes
	RawOnly   DiffKind = "raw only"    // a step only the raw program makes
	TwinFlag  DiffKind = "twin flag"   // a step both make; the twin's names Symbol, the raw one's does not
	RawFlag   DiffKind = "raw flag"    // a step both make; the raw one's names Symbol, the twin's does not
	OtherName DiffKind = "kernel name" // a step both make, entering the kernel under another name (Symbol)
	Result    DiffKind = "result"      // a step both make; one of them fails with Symbol (an errno)
)

// A Pattern is a difference a Known explains. Family "" matches any
// family; Symbol "" matches any symbol, and one ending in "*" matches by
// prefix ("backlog=*").
type Pattern struct {
	Kind   DiffKind
	Family string
	Symbol string
}

// A Known is an expected difference between the raw Go program and one of
// its twins, with the reason. KnownDifferences is the one table: socklab
// compare explains every marked row from it, and tests assert against it.
type Known struct {
	ID    string    // short name, shown beside the rows it explains
	Twin  string    // "net" or "c": the twin it is expected of; "" for either
	Match []Pattern // the differences it explains
	Why   string
}

// netDifferences are what the net package does underneath that the raw
// program and its C twin do not. Each is visible in the net twins'
// traces (udp/*_net.go, tcp/*_net.go) and comes from Go's src/net and
// src/internal/poll.
var netDifferences = []Known{
	{"net-probe", "net", []Pattern{{TwinOnly, "", "probe"}},
		"before its first socket of a kind, net probes the kernel with sockets it closes at once: " +
			"IPv6 and IPv4-mapped addresses (ipStackCapabilities, src/net/ipsock_posix.go) and MPTCP " +
			"(src/net/mptcpsock_linux.go); compare names them probe#N"},
	{"net-nonblock", "net", []Pattern{{TwinFlag, "socket", "SOCK_NONBLOCK"}, {TwinFlag, "socket", "SOCK_CLOEXEC"},
		{TwinFlag, "accept", "SOCK_NONBLOCK"}, {TwinFlag, "accept", "SOCK_CLOEXEC"}},
		"net opens and accepts every socket non-blocking, for the runtime's poller, and close-on-exec, " +
			"so that os/exec children do not inherit it (src/net/sock_cloexec.go)"},
	{"net-protocol", "net", []Pattern{{TwinFlag, "socket", "IPPROTO_IP"}, {TwinFlag, "socket", "IPPROTO_MPTCP"},
		{RawFlag, "socket", "IPPROTO_UDP"}, {RawFlag, "socket", "IPPROTO_TCP"}},
		"net passes protocol 0 (IPPROTO_IP) and lets the kernel pick the type's protocol, except that " +
			"since Go 1.24 a TCP listener is IPPROTO_MPTCP where the kernel has Multipath TCP (it serves " +
			"plain TCP clients); C and the raw program name IPPROTO_UDP or IPPROTO_TCP, as the tutorial does"},
	{"net-broadcast", "net", []Pattern{{TwinOnly, "setsockopt", "SO_BROADCAST"}},
		"net sets SO_BROADCAST on every UDP socket (setDefaultSockopts, src/net/sockopt_linux.go); " +
			"the net servers clear it again (udp.ListenNet), so that, as in C, the kernel refuses a reply " +
			"to a forged broadcast source with EACCES"},
	{"net-reuseaddr", "net", []Pattern{{TwinOnly, "setsockopt", "SO_REUSEADDR"}},
		"net sets SO_REUSEADDR on every listening TCP socket (setDefaultListenerSockopts), so that a " +
			"restarted server can bind at once"},
	{"net-backlog", "net", []Pattern{{TwinFlag, "listen", "backlog=*"}, {RawFlag, "listen", "backlog=*"}},
		"net listens with the kernel's limit (/proc/sys/net/core/somaxconn), not the tutorial's listen(20)"},
	{"net-bind", "net", []Pattern{{TwinOnly, "bind", ""}},
		"net.ListenUDP with no address binds 0.0.0.0:0 at once; the C and raw clients let the first " +
			"sendto bind an ephemeral port"},
	{"net-getsockname", "net", []Pattern{{TwinOnly, "getsockname", ""}, {TwinOnly, "getpeername", ""}},
		"net asks the kernel for the addresses it bound or connected (getsockname, getpeername) to " +
			"fill in LocalAddr and RemoteAddr"},
	{"net-epoll", "net", []Pattern{{TwinOnly, "epoll_create", ""}, {TwinOnly, "epoll_ctl", ""}, {TwinOnly, "epoll_wait", ""}},
		"net registers each socket with the runtime's poller (one epoll instance, edge-triggered; " +
			"EPOLL_CTL_DEL on close) and parks the goroutine there instead of blocking in the kernel; " +
			"the runtime's epoll_wait runs on whichever thread polls"},
	{"net-eagain", "net", []Pattern{{Result, "", "EAGAIN"}, {Result, "", "EINPROGRESS"}, {TwinOnly, "", "EAGAIN"}},
		"on a non-blocking socket a read, accept or connect that cannot complete at once fails with " +
			"EAGAIN (EINPROGRESS for connect); net then waits in the poller and tries again"},
	{"net-io", "net", []Pattern{{TwinOnly, "recvmsg", ""}, {TwinOnly, "sendmsg", ""}, {TwinOnly, "read", ""}, {TwinOnly, "write", ""},
		{TwinOnly, "recvfrom", ""}, {TwinOnly, "sendto", ""}, {RawOnly, "recvfrom", ""}, {RawOnly, "sendto", ""}},
		"net reads and writes with the calls its types need: recvmsg for a UDPConn (ReadMsgUDP), " +
			"read(2) and write(2) for a TCPConn; a read or write that would block is tried again after " +
			"the poller wakes the goroutine. The raw program makes the tutorial's recvfrom and sendto " +
			"(send and recv enter the kernel as sendto and recvfrom)"},
	{"net-connect", "net", []Pattern{{TwinOnly, "getsockopt", "SO_ERROR"}},
		"net connects without blocking: connect fails with EINPROGRESS, the poller reports the socket " +
			"writable, and getsockopt(SO_ERROR) reads the outcome"},
	{"net-tcp-options", "net", []Pattern{{TwinOnly, "setsockopt", "TCP_NODELAY"}, {TwinOnly, "setsockopt", "SO_KEEPALIVE"},
		{TwinOnly, "setsockopt", "TCP_KEEPIDLE"}, {TwinOnly, "setsockopt", "TCP_KEEPINTVL"}, {TwinOnly, "setsockopt", "TCP_KEEPCNT"}},
		"net turns Nagle's algorithm off (TCP_NODELAY) and keep-alive on (15 s probes) for every TCP " +
			"connection it dials or accepts (net.Dialer.KeepAlive, net.ListenConfig.KeepAlive)"},
	{"net-dontwait", "net", []Pattern{{RawFlag, "sendto", "MSG_DONTWAIT"}},
		"the raw and C servers reply with MSG_DONTWAIT, so that a full send buffer drops the reply " +
			"instead of blocking the loop; the net twin's socket is non-blocking already"},
	{"net-close", "net", []Pattern{{RawOnly, "shutdown", ""}},
		"the raw server is woken by shutdown from its signal goroutine; the net twin's Close " +
			"wakes the goroutine parked in the poller instead"},
}

// cDifferences are the steps and results the raw program and its C twin
// may differ in, beyond RawExtras.
var cDifferences = []Known{
	{"c-eintr", "c", []Pattern{{Result, "", "EINTR"}},
		"SIGTERM interrupts the blocking C server's call (-1 EINTR, its handler installed without " +
			"SA_RESTART); the Go server's call is woken by shutdown instead and returns what a call on " +
			"a shut-down socket returns (0 from recvfrom, EINVAL from accept). A select or poll the C " +
			"handler interrupts after shutting its listening socket down is retried, and shown once"},
	{"raw-rdhup", "c", []Pattern{{RawFlag, "epoll_ctl", "EPOLLRDHUP"}},
		"a Go event loop is stopped by shutdown (raw-shutdown), which epoll reports as EPOLLRDHUP, so " +
			"the raw program watches it; the C twin is stopped by EINTR and has no need to"},
	{"raw-exec-socket", "c", []Pattern{{RawOnly, "fcntl", ""}, {RawOnly, "close", ""}},
		"os/exec hands a child *os.File descriptors (ExtraFiles), so a Go server that re-runs itself " +
			"(udp-lengthy-server --mode fork-exec, prefork) wraps a close-on-exec duplicate of its socket " +
			"(fcntl F_DUPFD_CLOEXEC), which os.NewFile inspects (fcntl F_GETFL) and the server closes when " +
			"it returns; the C twin hands its socket on as it is"},
	{"raw-exec-probe", "c", []Pattern{{RawOnly, "fork", ""}},
		"os/exec's first Start checks that clone takes CLONE_PIDFD, with a child that exits at once " +
			"(syscall.checkClonePidfd), before it waits for children through pidfds; compare names that " +
			"process probe and numbers the others as if it were not there"},
	{"raw-exec-worker", "c", []Pattern{{RawOnly, "dup2", ""}, {RawOnly, "execve", ""}},
		"a Go prefork worker is the program run again, because a forked Go child cannot go on running " +
			"Go code: os/exec's child (clone(CLONE_VM|CLONE_VFORK)) moves the socket to fd 3 (dup3) and " +
			"calls execve; a C worker is a plain fork that goes on with the socket it has"},
}

// KnownDifferences returns the one table of expected differences: the
// kernel names of Substitutions (either twin), the steps of RawExtras (C
// twin), and what the net twins and the C twins are known for.
func KnownDifferences() []Known {
	var out []Known
	for _, s := range Substitutions() {
		out = append(out, Known{ID: s.C + "-as-" + s.Kernel, Match: []Pattern{{OtherName, s.C, s.Kernel}},
			Why: fmt.Sprintf("%s enters the kernel as %s: %s", s.C, s.Kernel, s.Why)})
	}
	for _, x := range RawExtras() {
		out = append(out, Known{ID: "raw-" + x.Family, Twin: "c", Match: []Pattern{{RawOnly, x.Family, ""}}, Why: x.Why})
	}
	out = append(out, cDifferences...)
	return append(out, netDifferences...)
}

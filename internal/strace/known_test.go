package strace_test

import (
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

// traced parses trace lines (one pid, strace -f -y format) into steps.
func traced(t *testing.T, lines string) []strace.Step {
	t.Helper()
	calls, err := strace.Parse(strings.NewReader(strings.TrimLeft(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return strace.Network(calls)
}

// The UDP echo client and its twins, as traced on amd64 (Go 1.26, glibc).
const (
	rawClient = `
10 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 5<socket:[1]>
10 sendto(5<socket:[1]>, "hi", 2, 0, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, 16) = 2
10 recvfrom(5<socket:[1]>, "hi", 255, MSG_TRUNC, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, [16]) = 2
10 close(5<socket:[1]>) = 0
`
	cClient = `
20 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3<socket:[2]>
20 sendto(3<socket:[2]>, "hi", 2, 0, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, 16) = 2
20 recvfrom(3<socket:[2]>, "hi", 255, MSG_TRUNC, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, [16]) = 2
20 close(3<socket:[2]>) = 0
`
	netClient = `
30 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 5<socket:[3]>
30 setsockopt(5<socket:[3]>, SOL_SOCKET, SO_BROADCAST, [1], 4) = 0
30 bind(5<socket:[3]>, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}, 16) = 0
30 epoll_create1(EPOLL_CLOEXEC) = 6<anon_inode:[eventpoll]>
30 epoll_ctl(6<anon_inode:[eventpoll]>, EPOLL_CTL_ADD, 5<socket:[3]>, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data={u32=1, u64=1}}) = 0
30 getsockname(5<socket:[3]>, {sa_family=AF_INET, sin_port=htons(50781), sin_addr=inet_addr("0.0.0.0")}, [112 => 16]) = 0
30 sendto(5<socket:[3]>, "hi", 2, 0, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, 16) = 2
30 recvmsg(5<socket:[3]>, {msg_name={sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=112 => 16, msg_iov=[{iov_base="", iov_len=255}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = -1 EAGAIN (Resource temporarily unavailable)
31 epoll_pwait(6<anon_inode:[eventpoll]>, [{events=EPOLLIN|EPOLLOUT, data={u32=1, u64=1}}], 128, 0, NULL, 0) = 1
30 recvmsg(5<socket:[3]>, {msg_name={sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=112 => 16, msg_iov=[{iov_base="hi", iov_len=255}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 2
30 epoll_ctl(6<anon_inode:[eventpoll]>, EPOLL_CTL_DEL, 5<socket:[3]>, 0x17c28ece16b4) = 0
30 close(5<socket:[3]>) = 0
`
)

// rows renders Align's rows as "raw | net | c | explanations" lines.
func rows(rs []strace.Row) []string {
	var out []string
	for _, r := range rs {
		var cells []string
		for _, s := range r.Steps {
			if s == nil {
				cells = append(cells, "")
			} else {
				cells = append(cells, s.Label())
			}
		}
		var notes []string
		for _, d := range r.Diffs {
			if d.Known == nil {
				notes = append(notes, "?"+d.Detail)
			} else {
				notes = append(notes, d.Known.ID)
			}
		}
		out = append(out, strings.Join(cells, " | ")+" | "+strings.Join(notes, ","))
	}
	return out
}

func TestAlignUDPClient(t *testing.T) {
	got := rows(strace.Align(traced(t, rawClient),
		strace.Column{Name: "net", Steps: traced(t, netClient)},
		strace.Column{Name: "c", Steps: traced(t, cClient)}))
	want := []string{
		"socket() = sock#1 | socket() = sock#1 | socket() = sock#1 | net-nonblock,net-nonblock,net-protocol,net-protocol",
		" | setsockopt(sock#1, SO_BROADCAST) |  | net-broadcast",
		" | bind(sock#1) |  | net-bind",
		" | epoll_create1() = ep#1 |  | net-epoll",
		" | epoll_ctl(ep#1, sock#1, EPOLL_CTL_ADD) |  | net-epoll",
		" | getsockname(sock#1) |  | net-getsockname",
		"sendto(sock#1) | sendto(sock#1) | sendto(sock#1) | ",
		"recvfrom(sock#1) |  | recvfrom(sock#1) | net-io",
		" | recvmsg(sock#1) = -1 EAGAIN |  | net-eagain",
		" | epoll_pwait(ep#1) |  | net-epoll",
		" | recvmsg(sock#1) |  | net-io",
		" | epoll_ctl(ep#1, sock#1, EPOLL_CTL_DEL) |  | net-epoll",
		"close(sock#1) | close(sock#1) | close(sock#1) | ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// A raw server beside its C twin: the kernel names, the shutdown and the
// EINTR are explained; a step the table does not know is not.
func TestAlignExplainsAndRefuses(t *testing.T) {
	raw := traced(t, `
10 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3<socket:[1]>
10 listen(3<socket:[1]>, 20) = 0
10 accept4(3<socket:[1]>, NULL, NULL, 0) = -1 EINVAL (Invalid argument)
10 shutdown(3<socket:[1]>, SHUT_RDWR) = 0
10 setsockopt(3<socket:[1]>, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
10 close(3<socket:[1]>) = 0
`)
	c := traced(t, `
20 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3<socket:[2]>
20 listen(3<socket:[2]>, 20) = 0
20 accept(3<socket:[2]>, NULL, NULL) = -1 EINTR (Interrupted system call)
20 close(3<socket:[2]>) = 0
`)
	got := strings.Join(rows(strace.Align(raw, strace.Column{Name: "c", Steps: c})), "\n")
	want := strings.Join([]string{
		"socket() = sock#1 | socket() = sock#1 | ",
		"listen(sock#1) | listen(sock#1) | ",
		"accept4(sock#1) = -1 EINVAL | accept(sock#1) = -1 EINTR | accept-as-accept4,c-eintr",
		"shutdown(sock#1) |  | raw-shutdown",
		"setsockopt(sock#1, SO_LINGER) |  | ?c lacks setsockopt SO_LINGER",
		"close(sock#1) | close(sock#1) | ",
	}, "\n")
	if got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
}

// net's probe sockets, opened and closed before the real one, neither
// shift the names of the sockets that matter nor go unexplained.
func TestAlignProbes(t *testing.T) {
	raw := traced(t, `
10 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3<socket:[1]>
10 listen(3<socket:[1]>, 20) = 0
10 close(3<socket:[1]>) = 0
`)
	net := traced(t, `
30 socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 5<socket:[7]>
30 setsockopt(5<socket:[7]>, SOL_IPV6, IPV6_V6ONLY, [1], 4) = 0
30 bind(5<socket:[7]>, {sa_family=AF_INET6, sin6_port=htons(0)}, 28) = 0
30 close(5<socket:[7]>) = 0
30 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_MPTCP) = 5<socket:[8]>
30 listen(5<socket:[8]>, 4096) = 0
30 close(5<socket:[8]>) = 0
`)
	got := strings.Join(rows(strace.Align(raw, strace.Column{Name: "net", Steps: net})), "\n")
	want := strings.Join([]string{
		" | socket() = probe#1 | net-probe",
		" | setsockopt(probe#1, IPV6_V6ONLY) | net-probe",
		" | bind(probe#1) | net-probe",
		" | close(probe#1) | net-probe",
		"socket() = sock#1 | socket() = sock#1 | net-nonblock,net-nonblock,net-protocol,net-protocol",
		"listen(sock#1) | listen(sock#1) | net-backlog,net-backlog",
		"close(sock#1) | close(sock#1) | ",
	}, "\n")
	if got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
}

// Two twins' lone steps that are the same step share a row.
func TestAlignPairsTwins(t *testing.T) {
	raw := steps("socket close:sock#1")
	a := steps("socket bind:sock#1 close:sock#1")
	b := steps("socket bind:sock#1 listen:sock#1 close:sock#1")
	rs := strace.Align(raw, strace.Column{Name: "a", Steps: a}, strace.Column{Name: "b", Steps: b})
	if len(rs) != 4 {
		t.Fatalf("%d rows, want 4: %q", len(rs), rows(rs))
	}
	if r := rs[1]; r.Steps[0] != nil || r.Steps[1] == nil || r.Steps[2] == nil || r.Steps[1].Family != "bind" {
		t.Errorf("row 2 is not the twins' shared bind: %q", rows(rs)[1])
	}
	if r := rs[2]; r.Steps[1] != nil || r.Steps[2].Family != "listen" {
		t.Errorf("row 3 is not b's listen alone: %q", rows(rs)[2])
	}
}

// The table names every substitution and raw extra, each ID once, each
// with a reason, and the net twin differences socklab's docs promise.
func TestKnownDifferences(t *testing.T) {
	known := strace.KnownDifferences()
	ids := map[string]bool{}
	for _, k := range known {
		if ids[k.ID] {
			t.Errorf("ID %q twice", k.ID)
		}
		ids[k.ID] = true
		if k.Why == "" || len(k.Match) == 0 {
			t.Errorf("%s: no reason or no pattern", k.ID)
		}
	}
	for _, s := range strace.Substitutions() {
		if !ids[s.C+"-as-"+s.Kernel] {
			t.Errorf("substitution %s -> %s not in the table", s.C, s.Kernel)
		}
	}
	for _, x := range strace.RawExtras() {
		if !ids["raw-"+x.Family] {
			t.Errorf("raw extra %s not in the table", x.Family)
		}
	}
	for _, id := range []string{"net-nonblock", "net-broadcast", "net-epoll", "net-io", "net-getsockname", "net-probe"} {
		if !ids[id] {
			t.Errorf("%s missing", id)
		}
	}
}

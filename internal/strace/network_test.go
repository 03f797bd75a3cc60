package strace_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

func checkKeys(t *testing.T, steps []strace.Step, want []string) {
	t.Helper()
	if got := strace.Keys(steps); !reflect.DeepEqual(got, want) {
		t.Errorf("network sequence:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestNetworkCServer(t *testing.T) {
	steps := strace.Network(parseFile(t, "c_server.trace"))
	checkKeys(t, steps, []string{
		"socket() = sock#1",
		"bind(sock#1)",
		"getsockname(sock#1)",
		"recvfrom(sock#1)",
		"fork() = proc#2",
		"proc#2: sendto(sock#1)", // the child inherits the socket
		// the recvfrom SIGCHLD interrupted was restarted by the program:
		// once, where the parent first entered it, before the child closed
		"recvfrom(sock#1)",
		"proc#2: close(sock#1)",
		"fork() = proc#3",
		"recvfrom(sock#1) = -1 EINTR", // SIGTERM: the program saw EINTR and left its loop
		"proc#3: sendto(sock#1)",
		"proc#3: close(sock#1)",
		"close(sock#1)",
	})
	if fork := steps[4]; fork.Name != "clone" || fork.Family != "fork" || fork.Ret != 13233 || fork.Proc != 1 {
		t.Errorf("fork step %+v", fork)
	}
	if s := steps[5]; s.PID != 13233 || s.FD != 3 || s.Proc != 2 || s.Arg(1) != `"hello"` {
		t.Errorf("child's sendto %+v", s)
	}
	checkKeys(t, strace.OfProc(steps, 3), []string{"proc#3: sendto(sock#1)", "proc#3: close(sock#1)"})
	// Serialize gives each child's steps as a block after its fork
	checkKeys(t, strace.Serialize(steps, false), []string{
		"socket() = sock#1", "bind(sock#1)", "getsockname(sock#1)", "recvfrom(sock#1)",
		"fork() = proc#2", "proc#2: sendto(sock#1)", "proc#2: close(sock#1)",
		"recvfrom(sock#1)",
		"fork() = proc#3", "proc#3: sendto(sock#1)", "proc#3: close(sock#1)",
		"recvfrom(sock#1) = -1 EINTR", "close(sock#1)",
	})
}

// The C client and the Go client on the syscall package make the same
// calls, although Go's socket is descriptor 5 and C's is 3.
func TestNetworkClientsAgree(t *testing.T) {
	c := strace.Network(parseFile(t, "c_client.trace"))
	goRaw := strace.Network(parseFile(t, "go_raw_client.trace"))
	want := []string{"socket() = sock#1", "sendto(sock#1)", "recvfrom(sock#1)", "close(sock#1)"}
	checkKeys(t, c, want)
	checkKeys(t, goRaw, want)
	if d := strace.Diff(c, goRaw); !strace.Equal(d) {
		t.Errorf("C and Go differ:\n%s", strace.FormatDiff(c, goRaw, d))
	}
	if got := strace.Families(goRaw); !reflect.DeepEqual(got, []string{"socket", "sendto", "recvfrom", "close"}) {
		t.Errorf("families %q", got)
	}
	if c[0].FD != -1 || c[1].FD != 3 || goRaw[1].FD != 5 {
		t.Errorf("raw descriptors: C %d, Go %d", c[1].FD, goRaw[1].FD)
	}
}

func TestNetworkGoNet(t *testing.T) {
	steps := strace.Network(parseFile(t, "go_net.trace"))
	checkKeys(t, steps, []string{
		"socket() = sock#1", // net.ListenPacket
		"setsockopt(sock#1)",
		"bind(sock#1)",
		"epoll_create() = ep#1", // the runtime's poller, created before it watches a socket
		"epoll_ctl(ep#1, sock#1)",
		"getsockname(sock#1)",
		"socket() = sock#2", // net.Dial
		"setsockopt(sock#2)",
		"connect(sock#2)",
		"recvfrom(sock#1) = -1 EAGAIN", // the server goroutine, on another thread
		"epoll_wait(ep#1)",
		"epoll_ctl(ep#1, sock#2)",
		"epoll_wait(ep#1)",
		"getsockname(sock#2)",
		"epoll_wait(ep#1)",
		"getpeername(sock#2)",
		"epoll_wait(ep#1)",
		"write(sock#2)",
		"epoll_wait(ep#1)",
		"read(sock#2) = -1 EAGAIN",
		"epoll_wait(ep#1)",
		"recvfrom(sock#1)",
		"sendto(sock#1)",
		"epoll_wait(ep#1)",
		"read(sock#2)",
		"epoll_wait(ep#1) = ?", // a thread still waiting at exit
		"epoll_ctl(ep#1, sock#2)",
		"close(sock#2)",
		"epoll_ctl(ep#1, sock#1)",
		"close(sock#1)",
	})
	for _, s := range steps {
		switch s.Family {
		case "socket":
			if !s.HasFlag(1, "SOCK_NONBLOCK") || !s.HasFlag(1, "SOCK_CLOEXEC") {
				t.Errorf("net's socket without SOCK_NONBLOCK|SOCK_CLOEXEC: %s", s.Args)
			}
		case "setsockopt":
			if !s.HasFlag(2, "SO_BROADCAST") {
				t.Errorf("net's setsockopt is not SO_BROADCAST: %s", s.Args)
			}
		case "epoll_wait":
			if s.Name != "epoll_pwait" {
				t.Errorf("Go's poller entered as %s", s.Name)
			}
		}
	}
	// The Go runtime's own descriptors (the eventfd it epolls, the files
	// it reads at startup, stdout) are not in the sequence.
	for _, s := range steps {
		if strings.Contains(s.Args, "eventfd") || strings.Contains(s.Args, "/proc/") || strings.HasPrefix(s.Args, "1<") {
			t.Errorf("runtime call in the sequence: %s(%s)", s.Name, s.Args)
		}
	}
}

func TestNetworkCTCPMix(t *testing.T) {
	steps := strace.Network(parseFile(t, "c_tcp_mix.trace"))
	checkKeys(t, steps, []string{
		"socket() = sock#1",
		"bind(sock#1)",
		"getsockname(sock#1)",
		"listen(sock#1)",
		"socketpair() = sock#2 sock#3",
		"fcntl(sock#1) = sock#1", // F_DUPFD_CLOEXEC: another descriptor, same socket
		"close(sock#1)",
		"poll(sock#1)",
		"socket() = sock#4", // the client thread: same process, same table
		"connect(sock#4)",
		"sendto(sock#4)", // send(2) enters as sendto
		"accept(sock#1) = sock#5",
		"recvfrom(sock#4)",
		"select(sock#5)", // glibc's select is pselect6
		"recvfrom(sock#5)",
		"sendto(sock#5)",
		"epoll_create() = ep#1",
		"close(sock#4)",
		"epoll_ctl(ep#1, sock#5)",
		"epoll_wait(ep#1)",
		"close(ep#1)",
		"dup2(sock#5) = sock#5",
		"close(sock#5)",
		"fork() = proc#2",
		"proc#2: execve()", // /bin/true's ld.so closes that follow are no sockets
		"close(sock#5)",
		"close(sock#2)",
		"close(sock#3)",
		"close(sock#1)",
	})
	if s := steps[6]; s.FD != 11 {
		t.Errorf("close of the duplicate acts on %d, want 11", s.FD)
	}
	if s := steps[13]; s.Name != "pselect6" || s.FD != 7 {
		t.Errorf("select step %+v", s)
	}
}

// Without strace -y the descriptors are followed from the calls alone:
// close-on-exec, threads, dup and fork give the same sequences.
func TestNetworkWithoutAnnotations(t *testing.T) {
	annotation := regexp.MustCompile(`([0-9A-Z_])<(\\.|[^>\\])*>`)
	for _, name := range []string{"c_server", "c_client", "go_raw_client", "go_net", "c_tcp_mix"} {
		t.Run(name, func(t *testing.T) {
			withY := strace.Network(parseFile(t, name+".trace"))
			calls := parseFile(t, name+".trace")
			text := strings.Builder{}
			for _, c := range calls {
				text.WriteString(annotation.ReplaceAllString(rawLine(c), "$1") + "\n")
			}
			if strings.Contains(text.String(), "socket:[") {
				t.Fatal("annotations left")
			}
			plain, err := strace.Parse(strings.NewReader(text.String()))
			if err != nil {
				t.Fatal(err)
			}
			checkKeys(t, strace.Network(plain), strace.Keys(withY))
		})
	}
}

// rawLine writes a parsed record back as a strace line.
func rawLine(c strace.Call) string {
	switch c.Kind {
	case strace.KindSyscall:
		if c.RetText == "" { // never returned
			return c.String()[:len(c.String())-len(" = ")] + " <unfinished ...>"
		}
	}
	return c.String()
}

func TestNetworkFollowsDescriptors(t *testing.T) {
	for _, tt := range []struct {
		name, trace string
		want        []string
	}{
		{"other files dropped", `
1 close(3) = 0
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 close(3) = 0
1 close(3) = 0
1 read(3, "x", 1) = 1`,
			[]string{"socket() = sock#1", "close(sock#1)"}},

		{"failed socket and accept", `
1 socket(AF_PACKET, SOCK_RAW, 768) = -1 EPERM (Operation not permitted)
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 accept4(3, NULL, NULL, 0) = -1 EINVAL (Invalid argument)
1 accept4(3, NULL, NULL, 0) = 4
1 accept4(9, NULL, NULL, 0) = -1 EBADF (Bad file descriptor)`,
			[]string{"socket() = -1 EPERM", "socket() = sock#1", "accept(sock#1) = -1 EINVAL", "accept(sock#1) = sock#2"}},

		{"thread shares the table", `
1 clone(child_stack=0x1, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0x2) = 2
2 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 sendto(3, "x", 1, 0, NULL, 0) = 1
2 close(3) = 0
1 sendto(3, "x", 1, 0, NULL, 0) = -1 EBADF (Bad file descriptor)`,
			[]string{"socket() = sock#1", "sendto(sock#1)", "close(sock#1)"}},

		{"fork copies the table", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 2
2 close(3) = 0
2 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 sendto(3, "x", 1, 0, NULL, 0) = 1
2 sendto(3, "x", 1, 0, NULL, 0) = 1
2 +++ exited with 0 +++
1 close(3) = 0`,
			[]string{"socket() = sock#1", "fork() = proc#2", "proc#2: close(sock#1)", "proc#2: socket() = sock#2",
				"sendto(sock#1)", "proc#2: sendto(sock#2)", "close(sock#1)"}},

		{"CLONE_FILES shares without a thread", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 clone(child_stack=0x1, flags=CLONE_VM|CLONE_FILES|SIGCHLD) = 2
2 close(3) = 0
1 sendto(3, "x", 1, 0, NULL, 0) = -1 EBADF (Bad file descriptor)`,
			[]string{"socket() = sock#1", "fork() = proc#2", "proc#2: close(sock#1)"}},

		{"fork entered before the child runs", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 fork( <unfinished ...>
2 sendto(3, "x", 1, 0, NULL, 0) = 1
1 <... fork resumed>) = 2`,
			[]string{"socket() = sock#1", "fork() = proc#2", "proc#2: sendto(sock#1)"}},

		{"vfork and clone3", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 vfork() = 2
1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x1, stack_size=0x9000}, 88) = 3
3 close(3) = 0
2 close(3) = 0`,
			[]string{"socket() = sock#1", "fork() = proc#2", "fork() = proc#3", "proc#3: close(sock#1)", "proc#2: close(sock#1)"}},

		{"dup family", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4
1 dup(3) = 5
1 dup2(3, 4) = 4
1 dup3(5, 6, O_CLOEXEC) = 6
1 fcntl(6, F_DUPFD, 10) = 10
1 fcntl(10, F_GETFL) = 0x2 (flags O_RDWR)
1 close(4) = 0
1 dup2(7, 10) = 10
1 close(10) = 0
1 dup3(0, 5, 0) = 5
1 sendto(5, "x", 1, 0, NULL, 0) = 1`,
			[]string{"socket() = sock#1", "socket() = sock#2", "dup(sock#1) = sock#1", "dup2(sock#1) = sock#1",
				"dup3(sock#1) = sock#1", "fcntl(sock#1) = sock#1", "fcntl(sock#1)", "close(sock#1)"}},

		{"close-on-exec", `
1 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_UDP) = 3
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 5
1 fcntl(5, F_SETFD, FD_CLOEXEC) = 0
1 fcntl(3, F_SETFD, 0) = 0
1 execve("/bin/x", ["x"], 0x1 /* 1 var */) = 0
1 close(3) = 0
1 close(4) = 0
1 close(5) = 0`,
			[]string{"socket() = sock#1", "socket() = sock#2", "socket() = sock#3", "fcntl(sock#3)", "fcntl(sock#1)",
				"execve()", "close(sock#1)", "close(sock#2)"}},

		{"first execve is strace's", `
1 execve("/bin/x", ["x"], 0x1 /* 1 var */) = 0
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 execve("/bin/y", ["y"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)
1 close(3) = 0`,
			[]string{"socket() = sock#1", "execve() = -1 ENOENT", "close(sock#1)"}},

		{"socketpair", `
1 socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0
1 sendmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1
1 recvmmsg(3, [{msg_hdr={msg_name=NULL, msg_namelen=0}, msg_len=1}], 8, 0, NULL) = 1
1 shutdown(3, SHUT_RDWR) = 0`,
			[]string{"socketpair() = sock#1 sock#2", "sendmsg(sock#2)", "recvmmsg(sock#1)", "shutdown(sock#1)"}},

		{"poll and select", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 10
1 poll([{fd=0, events=POLLIN}], 1, 0) = 0 (Timeout)
1 ppoll([{fd=0, events=POLLIN}, {fd=10, events=POLLIN}], 2, NULL, NULL, 8) = 1 ([{fd=10, revents=POLLIN}])
1 select(11, [0 4], [10], NULL, NULL) = 1 (in [4])
1 pselect6(1, [0], NULL, NULL, NULL, NULL) = 1 (in [0])`,
			[]string{"socket() = sock#1", "socket() = sock#2", "poll(sock#2)", "select(sock#1, sock#2)"}},

		{"epoll", `
1 epoll_create1(EPOLL_CLOEXEC) = 3
1 eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 4
1 epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=1, u64=1}}) = 0
1 epoll_pwait(3, [], 128, 0, NULL, 0) = 0
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 5
1 epoll_create(1) = 6
1 epoll_ctl(6, EPOLL_CTL_ADD, 5, {events=EPOLLIN, data={u32=5, u64=5}}) = 0
1 epoll_wait(6, [{events=EPOLLIN, data={u32=5, u64=5}}], 1, -1) = 1
1 epoll_pwait(3, [], 128, 0, NULL, 0) = 0
1 close(3) = 0
1 close(6) = 0`,
			[]string{"socket() = sock#1", "epoll_create() = ep#1", "epoll_ctl(ep#1, sock#1)", "epoll_wait(ep#1)", "close(ep#1)"}},

		{"restarts", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 recvfrom(3,  <unfinished ...>
2 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=1, si_uid=0} ---
1 <... recvfrom resumed>0x1, 8, 0, NULL, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=1, si_uid=0} ---
1 recvfrom(3, "x", 8, 0, NULL, NULL) = 1
1 poll([{fd=3, events=POLLIN}], 1, 1000) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)
1 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=9, si_uid=0, si_status=0} ---
1 restart_syscall(<... resuming interrupted poll ...>) = 1 ([{fd=3, revents=POLLIN}])
1 accept4(3, NULL, NULL, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=0} ---
1 close(3) = 0
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 recvfrom(3,  <unfinished ...>
1 +++ killed by SIGKILL +++`,
			[]string{"socket() = sock#1", "recvfrom(sock#1)", "poll(sock#1)", "accept(sock#1) = -1 EINTR", "close(sock#1)",
				"socket() = sock#2", "recvfrom(sock#2) = ?"}},

		{"EINTR retried, and EINTR seen", `
1 epoll_create1(0) = 3
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4
1 epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}}) = 0
1 epoll_pwait(3, 0x1, 8, -1, NULL, 8) = -1 EINTR (Interrupted system call)
1 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=0} ---
1 epoll_pwait(3, [{events=EPOLLIN, data={u32=4, u64=4}}], 8, -1, NULL, 8) = 1
1 epoll_pwait(3, 0x1, 8, -1, NULL, 8) = -1 EINTR (Interrupted system call)
1 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=0} ---
1 close(3) = 0`,
			[]string{"epoll_create() = ep#1", "socket() = sock#1", "epoll_ctl(ep#1, sock#1)", "epoll_wait(ep#1)",
				"epoll_wait(ep#1) = -1 EINTR", "close(ep#1)"}},

		{"a handler's calls, then the retry", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
1 pselect6(4, [3], [], NULL, NULL, NULL) = ? ERESTARTNOHAND (To be restarted if no handler)
1 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=0} ---
1 shutdown(3, SHUT_RDWR) = 0
1 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)
1 pselect6(4, [3], [], NULL, NULL, NULL) = 1 (in [3])
1 accept(3, 0x1, [16]) = -1 EINVAL (Invalid argument)
1 accept(3, 0x1, [16]) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=0} ---
1 rt_sigreturn({mask=[]}) = -1 EINTR (Interrupted system call)
1 close(3) = 0`,
			[]string{"socket() = sock#1", "select(sock#1)", "shutdown(sock#1)", "accept(sock#1) = -1 EINVAL",
				"accept(sock#1) = -1 EINTR", "close(sock#1)"}},

		{"a restarted call keeps its place", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
1 clone(child_stack=0x1, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0x2) = 2
1 recvfrom(3, 0x1, 8, 0, NULL, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=1, si_uid=0} ---
2 sendto(3, "x", 1, 0, NULL, 0) = 1
1 recvfrom(3, "x", 8, 0, NULL, NULL) = 1`,
			[]string{"socket() = sock#1", "recvfrom(sock#1)", "sendto(sock#1)"}},

		{"a retry on another thread of the process", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 clone(child_stack=0x1, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0x2) = 2
1 accept4(3, NULL, NULL, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=1, si_uid=0} ---
2 accept4(3, NULL, NULL, 0) = 4
2 close(4) = 0`,
			[]string{"socket() = sock#1", "accept(sock#1) = sock#2", "close(sock#2)"}},

		{"a forked process's same call is not a retry", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 2
1 accept4(3, NULL, NULL, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
1 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=2, si_uid=0, si_status=0} ---
2 accept4(3, NULL, NULL, 0) = 4
1 close(3) = 0`,
			[]string{"socket() = sock#1", "fork() = proc#2", "accept(sock#1) = -1 EINTR", "proc#2: accept(sock#1) = sock#2", "close(sock#1)"}},

		{"-y finds sockets the trace did not make", `
1 recvfrom(3<socket:[77]>, "x", 8, 0, NULL, NULL) = 1
1 dup(3<socket:[77]>) = 4<socket:[77]>
1 close(4<socket:[77]>) = 0
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4<socket:[78]>
1 close(4<pipe:[5]>) = 0
1 sendto(3<socket:[77]>, "x", 1, 0, NULL, 0) = 1`,
			[]string{"recvfrom(sock#1)", "dup(sock#1) = sock#1", "close(sock#1)", "socket() = sock#2", "sendto(sock#1)"}},

		{"an unknown pid counts as a thread", `
1 socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3
7 sendto(3, "x", 1, 0, NULL, 0) = 1`,
			[]string{"socket() = sock#1", "sendto(sock#1)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkKeys(t, strace.Network(parseText(t, tt.trace)), tt.want)
		})
	}
}

func TestStepKey(t *testing.T) {
	s := strace.Step{Family: "recvfrom", Proc: 2, Refs: []string{"sock#1"}}
	s.Errno = "EAGAIN"
	if got := s.Key(); got != "proc#2: recvfrom(sock#1) = -1 EAGAIN" {
		t.Errorf("Key %q", got)
	}
	s.NoReturn, s.Errno = true, "ERESTARTSYS"
	if got := s.String(); got != "proc#2: recvfrom(sock#1) = ? ERESTARTSYS" {
		t.Errorf("String %q", got)
	}
}

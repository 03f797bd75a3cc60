package strace_test

import (
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

func TestSerialize(t *testing.T) {
	for _, tt := range []struct {
		name, trace string
		byConn      bool
		want        []string
	}{
		{"a forked child's steps follow its fork", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 accept4(3, NULL, NULL, 0) = 4
1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 2
1 close(4) = 0
2 close(3) = 0
1 accept4(3, NULL, NULL, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
2 read(4, "x", 8) = 1
2 write(4, "x", 1) = 1
2 close(4) = 0`, false,
			[]string{"socket() = sock#1", "accept(sock#1) = sock#2", "fork() = proc#2",
				"proc#2: close(sock#1)", "proc#2: read(sock#2)", "proc#2: write(sock#2)", "proc#2: close(sock#2)",
				"close(sock#2)", "accept(sock#1) = ? ERESTARTSYS"}},

		{"without byConn a thread's steps stay interleaved", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 accept4(3, NULL, NULL, 0) = 4
1 accept4(3, NULL, NULL, 0) = 5
1 read(4, "x", 8) = 1
1 read(5, "y", 8) = 1
1 close(4) = 0
1 close(5) = 0`, false,
			[]string{"socket() = sock#1", "accept(sock#1) = sock#2", "accept(sock#1) = sock#3",
				"read(sock#2)", "read(sock#3)", "close(sock#2)", "close(sock#3)"}},

		{"byConn puts each connection's steps after its accept", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
1 accept4(3, NULL, NULL, 0) = 4
1 accept4(3, NULL, NULL, 0) = 5
1 read(4, "x", 8) = 1
1 read(5, "y", 8) = 1
1 close(4) = 0
1 close(5) = 0
1 close(3) = 0`, true,
			[]string{"socket() = sock#1",
				"accept(sock#1) = sock#2", "read(sock#2)", "close(sock#2)",
				"accept(sock#1) = sock#3", "read(sock#3)", "close(sock#3)",
				"close(sock#1)"}},

		{"byConn puts a threaded client's connections one after the other", `
1 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
2 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4
2 connect(4, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
1 connect(3, {sa_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
1 sendto(3, "x", 1, MSG_NOSIGNAL, NULL, 0) = 1
2 sendto(4, "y", 1, MSG_NOSIGNAL, NULL, 0) = 1
2 close(4) = 0
1 close(3) = 0`, true,
			[]string{"socket() = sock#1", "connect(sock#1)", "sendto(sock#1)", "close(sock#1)",
				"socket() = sock#2", "connect(sock#2)", "sendto(sock#2)", "close(sock#2)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			steps := strace.Network(parseText(t, tt.trace))
			got := strace.Serialize(steps, tt.byConn)
			if len(got) != len(steps) {
				t.Fatalf("Serialize kept %d of %d steps", len(got), len(steps))
			}
			checkKeys(t, got, tt.want)
		})
	}
}

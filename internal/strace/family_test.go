package strace_test

import (
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

func TestFamily(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{`1 accept4(3, NULL, NULL, 0) = 4`, "accept"},
		{`1 accept4(3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 4`, "accept"},
		{`1 accept(3, NULL, NULL) = 4`, "accept"},
		{`1 ppoll([{fd=3, events=POLLIN}], 1, NULL, NULL, 8) = 1`, "poll"},
		{`1 poll([{fd=3, events=POLLIN}], 1, 1) = 1`, "poll"},
		{`1 pselect6(4, [3], NULL, NULL, NULL, NULL) = 1`, "select"},
		{`1 _newselect(4, [3], NULL, NULL, NULL) = 1`, "select"},
		{`1 epoll_pwait(4, [], 1, 0, NULL, 8) = 0`, "epoll_wait"},
		{`1 epoll_pwait2(4, [], 1, NULL, NULL, 8) = 0`, "epoll_wait"},
		{`1 epoll_create1(EPOLL_CLOEXEC) = 4`, "epoll_create"},
		{`1 dup3(3, 4, 0) = 4`, "dup2"},
		{`1 dup3(3, 4, O_CLOEXEC) = 4`, "dup3"},
		{`1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 2`, "fork"},
		{`1 clone(child_stack=0x1, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0x2) = 2`, "thread"},
		{`1 clone3({flags=CLONE_VM|CLONE_FILES|CLONE_THREAD, exit_signal=0, stack=0x1, stack_size=0x2} => {parent_tid=[2]}, 88) = 2`, "thread"},
		{`1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x1, stack_size=0x2}, 88) = 2`, "fork"},
		{`1 vfork() = 2`, "fork"},
		{`1 fork() = 2`, "fork"},
		{`1 recvfrom(3, "x", 1, 0, NULL, NULL) = 1`, "recvfrom"},
		{`1 sendmmsg(3, [{msg_hdr={msg_name=NULL}, msg_len=1}], 1, 0) = 1`, "sendmmsg"},
		{`1 --- SIGTERM {si_signo=SIGTERM} ---`, ""},
		{`1 +++ exited with 0 +++`, ""},
	} {
		c := parseText(t, tt.line)[0]
		if got := strace.Family(c); got != tt.want {
			t.Errorf("Family(%s) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	subs := strace.Substitutions()
	if len(subs) == 0 {
		t.Fatal("no substitutions")
	}
	seen := make(map[[2]string]bool)
	for _, s := range subs {
		if s.Kernel == "" || s.C == "" || s.Why == "" {
			t.Errorf("incomplete entry %+v", s)
		}
		if s.Kernel == s.C {
			t.Errorf("entry maps %s to itself", s.Kernel)
		}
		switch s.When {
		case "", "flags are 0", "CLONE_THREAD", "no CLONE_THREAD":
		default:
			t.Errorf("%s: condition %q is not one Family evaluates", s.Kernel, s.When)
		}
		key := [2]string{s.Kernel, s.When}
		if seen[key] {
			t.Errorf("duplicate entry %v", key)
		}
		seen[key] = true
	}
	// Callers get a copy.
	subs[0].C = "changed"
	if strace.Substitutions()[0].C == "changed" {
		t.Error("Substitutions returned the table itself")
	}
}

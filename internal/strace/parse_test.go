package strace_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

// parseText parses a trace written inline, one record a line.
func parseText(t *testing.T, text string) []strace.Call {
	t.Helper()
	calls, err := strace.Parse(strings.NewReader(strings.TrimSpace(text) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func parseFile(t *testing.T, name string) []strace.Call {
	t.Helper()
	calls, err := strace.ParseFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestParseCServer(t *testing.T) {
	calls := parseFile(t, "c_server.trace")
	if len(calls) != 24 {
		t.Fatalf("%d records, want 24 (27 lines, 3 resumed lines merged)", len(calls))
	}
	first := calls[0]
	if first.PID != 13228 || first.Name != "execve" || first.Ret != 0 || first.Line != 1 {
		t.Errorf("first record %+v", first)
	}

	// line 9 starts a sendto that line 11 resumes; it stands at line 9.
	sendto := calls[8]
	if sendto.Line != 9 || sendto.PID != 13233 || sendto.Name != "sendto" || sendto.Ret != 5 || sendto.NoReturn {
		t.Errorf("merged sendto: %+v", sendto)
	}
	if len(sendto.ArgList) != 6 || sendto.Arg(1) != `"hello"` || sendto.Arg(5) != "16" {
		t.Errorf("merged sendto args %q", sendto.ArgList)
	}
	if fd, ok := sendto.ArgFD(0); !ok || fd != 3 {
		t.Errorf("sendto ArgFD(0) = %d, %v", fd, ok)
	}

	// line 10 is a recvfrom that a signal interrupted (resumed on line 14).
	rv := calls[9]
	if rv.Name != "recvfrom" || rv.Line != 10 || !rv.NoReturn || rv.Errno != "ERESTARTSYS" || !rv.Failed() {
		t.Errorf("interrupted recvfrom: %+v", rv)
	}
	if rv.Arg(0) != "3<socket:[25918]>" || rv.Arg(5) != "[16]" {
		t.Errorf("interrupted recvfrom args %q", rv.ArgList)
	}

	clone := calls[7]
	if clone.Name != "clone" || clone.Ret != 13233 || !clone.HasFlag(1, "SIGCHLD") || clone.HasFlag(1, "CLONE_THREAD") {
		t.Errorf("clone: %+v", clone)
	}
	if fd, path, ok := calls[3].RetFD(); !ok || fd != 3 || path != "socket:[25918]" {
		t.Errorf("socket RetFD = %d, %q, %v", fd, path, ok)
	}

	var kinds []string
	for _, c := range calls {
		switch c.Kind {
		case strace.KindSignal:
			kinds = append(kinds, c.Signal)
		case strace.KindExit:
			kinds = append(kinds, "exit")
		}
	}
	want := []string{"exit", "SIGCHLD", "exit", "SIGCHLD", "SIGTERM", "exit"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("signals and exits %q, want %q", kinds, want)
	}
	last := calls[len(calls)-1]
	if last.Kind != strace.KindExit || last.PID != 13228 || last.ExitCode != 0 {
		t.Errorf("last record %+v", last)
	}
	if sig := calls[21]; sig.Kind != strace.KindSignal || !strings.Contains(sig.Args, "si_code=SI_USER") {
		t.Errorf("SIGTERM record %+v", sig)
	}
}

func TestParseGoNet(t *testing.T) {
	calls := parseFile(t, "go_net.trace")
	var socket, setsockopt, stray, lastWait *strace.Call
	for i := range calls {
		c := &calls[i]
		switch {
		case c.Name == "socket" && socket == nil:
			socket = c
		case c.Name == "setsockopt" && setsockopt == nil:
			setsockopt = c
		case c.Name == "???":
			stray = c
		case c.Name == "epoll_pwait" && c.PID == 19064:
			lastWait = c
		}
	}
	if socket == nil || setsockopt == nil || stray == nil || lastWait == nil {
		t.Fatal("trace lacks the calls this test looks at")
	}
	for _, flag := range []string{"SOCK_DGRAM", "SOCK_NONBLOCK", "SOCK_CLOEXEC"} {
		if !socket.HasFlag(1, flag) {
			t.Errorf("socket %q lacks %s", socket.Arg(1), flag)
		}
	}
	if socket.HasFlag(0, "SOCK_NONBLOCK") || socket.HasFlag(5, "SOCK_NONBLOCK") {
		t.Error("HasFlag looked outside the argument asked for")
	}
	if !setsockopt.HasFlag(1, "SOL_SOCKET") || !setsockopt.HasFlag(2, "SO_BROADCAST") {
		t.Errorf("setsockopt args %q", setsockopt.ArgList)
	}
	// "19062 ???( <unfinished ...>" never resumes.
	if !stray.NoReturn || stray.Args != "" {
		t.Errorf("??? record %+v", stray)
	}
	// "<... epoll_pwait resumed> <unfinished ...>) = ?": ended inside the call.
	if !lastWait.NoReturn || lastWait.Args != "6<anon_inode:[eventpoll]>" || len(lastWait.ArgList) != 1 {
		t.Errorf("epoll_pwait the process ended in: %+v", lastWait)
	}
}

func TestParseGoRawClient(t *testing.T) {
	calls := parseFile(t, "go_raw_client.trace")
	threads := 0
	for _, c := range calls {
		if c.Name == "clone" && c.HasFlag(1, "CLONE_THREAD") {
			threads++
		}
		if c.Name == "fcntl" && c.Arg(1) == "F_GETFL" && c.Ret != 0x8000 && c.Ret != 0x8001 {
			t.Errorf("hex return: %+v", c)
		}
		if c.Name == "recvfrom" && c.Arg(5) != "[112 => 16]" {
			t.Errorf("recvfrom addrlen %q", c.Arg(5))
		}
	}
	if threads != 4 {
		t.Errorf("%d thread clones, want 4", threads)
	}
}

func TestParseRecords(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		want       strace.Call
	}{
		{"no pid prefix", `socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3`,
			strace.Call{Line: 1, Name: "socket", Args: "AF_INET, SOCK_DGRAM, IPPROTO_IP",
				ArgList: []string{"AF_INET", "SOCK_DGRAM", "IPPROTO_IP"}, RetText: "3", Ret: 3}},
		{"[pid N] prefix", `[pid  4242] listen(3, 5) = 0`,
			strace.Call{Line: 1, PID: 4242, Name: "listen", Args: "3, 5", ArgList: []string{"3", "5"}, RetText: "0"}},
		{"error", `7 recvfrom(3, 0x7ffc, 256, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)`,
			strace.Call{Line: 1, PID: 7, Name: "recvfrom", Args: "3, 0x7ffc, 256, 0, NULL, NULL",
				ArgList: []string{"3", "0x7ffc", "256", "0", "NULL", "NULL"},
				RetText: "-1 EAGAIN (Resource temporarily unavailable)", Ret: -1, Errno: "EAGAIN"}},
		{"no return", `7 exit_group(0) = ?`,
			strace.Call{Line: 1, PID: 7, Name: "exit_group", Args: "0", ArgList: []string{"0"}, RetText: "?", NoReturn: true}},
		{"all ones", `7 lseek(3, 0, SEEK_CUR) = 0xffffffffffffffff`,
			strace.Call{Line: 1, PID: 7, Name: "lseek", Args: "3, 0, SEEK_CUR", ArgList: []string{"3", "0", "SEEK_CUR"},
				RetText: "0xffffffffffffffff", Ret: -1}},
		{"no arguments", `7 fork() = 8`,
			strace.Call{Line: 1, PID: 7, Name: "fork", RetText: "8", Ret: 8}},
		{"string with comma, paren and quote", `7 sendto(3, "a, b) = \"c", 10, 0, NULL, 0) = 10`,
			strace.Call{Line: 1, PID: 7, Name: "sendto", Args: `3, "a, b) = \"c", 10, 0, NULL, 0`,
				ArgList: []string{"3", `"a, b) = \"c"`, "10", "0", "NULL", "0"}, RetText: "10", Ret: 10}},
		{"truncated string", `7 write(1, "0123456789"..., 100) = 100`,
			strace.Call{Line: 1, PID: 7, Name: "write", Args: `1, "0123456789"..., 100`,
				ArgList: []string{"1", `"0123456789"...`, "100"}, RetText: "100", Ret: 100}},
		{"-y path with comma and bracket", `7 close(3</tmp/a\76b,c[d\">) = 0`,
			strace.Call{Line: 1, PID: 7, Name: "close", Args: `3</tmp/a\76b,c[d\">`,
				ArgList: []string{`3</tmp/a\76b,c[d\">`}, RetText: "0"}},
		{"-y on AT_FDCWD and return", `7 openat(AT_FDCWD</tmp>, "x", O_RDONLY) = 4</tmp/x>`,
			strace.Call{Line: 1, PID: 7, Name: "openat", Args: `AT_FDCWD</tmp>, "x", O_RDONLY`,
				ArgList: []string{"AT_FDCWD</tmp>", `"x"`, "O_RDONLY"}, RetText: "4</tmp/x>", Ret: 4}},
		{"select details", `7 pselect6(8, [7<socket:[1]>], NULL, NULL, NULL, NULL) = 1 (in [7])`,
			strace.Call{Line: 1, PID: 7, Name: "pselect6", Args: "8, [7<socket:[1]>], NULL, NULL, NULL, NULL",
				ArgList: []string{"8", "[7<socket:[1]>]", "NULL", "NULL", "NULL", "NULL"}, RetText: "1 (in [7])", Ret: 1}},
		{"detached", `7 accept4(3, NULL, NULL, 0 <detached ...>`,
			strace.Call{Line: 1, PID: 7, Name: "accept4", Args: "3, NULL, NULL, 0",
				ArgList: []string{"3", "NULL", "NULL", "0"}, NoReturn: true}},
		{"signal", `7 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=7, si_uid=0} ---`,
			strace.Call{Line: 1, PID: 7, Kind: strace.KindSignal, Signal: "SIGURG",
				Args: "{si_signo=SIGURG, si_code=SI_TKILL, si_pid=7, si_uid=0}"}},
		{"stopped", `7 --- stopped by SIGSTOP ---`,
			strace.Call{Line: 1, PID: 7, Kind: strace.KindSignal, Signal: "SIGSTOP", Args: "stopped"}},
		{"exit", `7 +++ exited with 3 +++`,
			strace.Call{Line: 1, PID: 7, Kind: strace.KindExit, ExitCode: 3}},
		{"killed", `7 +++ killed by SIGTERM +++`,
			strace.Call{Line: 1, PID: 7, Kind: strace.KindKilled, Signal: "SIGTERM"}},
		{"core dumped", `7 +++ killed by SIGSEGV (core dumped) +++`,
			strace.Call{Line: 1, PID: 7, Kind: strace.KindKilled, Signal: "SIGSEGV"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := parseText(t, tt.line)
			if len(calls) != 1 {
				t.Fatalf("%d records: %+v", len(calls), calls)
			}
			if !reflect.DeepEqual(calls[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", calls[0], tt.want)
			}
		})
	}
}

func TestParseUnfinished(t *testing.T) {
	calls := parseText(t, `
10 accept4(3, NULL, NULL, 0 <unfinished ...>
11 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000} <unfinished ...>
12 <... close resumed>) = 0
11 <... clone3 resumed> => {parent_tid=[0]}, 88) = 13
13 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */ <unfinished ...>
10 +++ killed by SIGTERM +++
13 <... execve resumed>) = 0
strace: Process 14 attached

14 recvfrom(4,  <unfinished ...>
`)
	var got []string
	for _, c := range calls {
		got = append(got, c.String())
	}
	want := []string{
		"10 accept4(3, NULL, NULL, 0) = ", // never resumed: the process was killed
		"11 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000} => {parent_tid=[0]}, 88) = 13",
		"12 close() = 0", // resumed without a start: kept where it resumed
		`13 execve("/bin/true", ["true"], 0x7ffd /* 3 vars */) = 0`,
		"10 +++ killed by SIGTERM +++",
		"14 recvfrom(4, ) = ", // the trace ends mid-call
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !calls[0].NoReturn || calls[0].Line != 1 || calls[0].Arg(3) != "0" {
		t.Errorf("killed accept4: %+v", calls[0])
	}
	if calls[1].Line != 2 || len(calls[1].ArgList) != 2 || !calls[1].HasFlag(0, "CLONE_VFORK") {
		t.Errorf("clone3: %+v", calls[1])
	}
	if !calls[5].NoReturn || calls[5].Arg(0) != "4" {
		t.Errorf("last recvfrom: %+v", calls[5])
	}
}

// A resumed line that does not parse keeps the calls of other processes.
func TestParseErrorKeepsOthers(t *testing.T) {
	calls, err := strace.Parse(strings.NewReader(`1 recvfrom(3,  <unfinished ...>
2 close(4) = 0
1 <... recvfrom resumed>"x", 1, 0, NULL, NULL) 1
`))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error %v, want one at line 3", err)
	}
	if len(calls) != 2 || calls[1].Name != "close" {
		t.Errorf("calls before the error: %v", calls)
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		"7 garbage",
		"7 +++ exited with x +++",
		"7 +++ something else +++",
		"7 socket(AF_INET",
		"7 socket(AF_INET) 3",
		"7 socket(AF_INET) = three",
		"7 <... socket resumed",
		"[pid 7 socket() = 3",
	} {
		text := "1 close(3) = 0\n" + line + "\n"
		calls, err := strace.Parse(strings.NewReader(text))
		if err == nil {
			t.Errorf("%q parsed: %+v", line, calls)
			continue
		}
		if !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: error does not name line 2: %v", line, err)
		}
		if len(calls) != 1 {
			t.Errorf("%q: %d calls before the error, want 1", line, len(calls))
		}
	}
}

func TestHasFlagIgnoresStrings(t *testing.T) {
	c := parseText(t, `7 sendto(3, "SOCK_NONBLOCK", 13, MSG_DONTWAIT|MSG_NOSIGNAL, NULL, 0) = 13`)[0]
	if c.HasFlag(1, "SOCK_NONBLOCK") {
		t.Error("HasFlag matched inside a string")
	}
	if !c.HasFlag(3, "MSG_NOSIGNAL") || !c.HasFlag(3, "MSG_DONTWAIT") || c.HasFlag(3, "MSG_") {
		t.Errorf("flags of %q", c.Arg(3))
	}
	if c.HasFlag(9, "x") || c.Arg(-1) != "" || c.Arg(9) != "" {
		t.Error("out-of-range argument")
	}
}

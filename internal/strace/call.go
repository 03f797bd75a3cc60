package strace

import (
	"fmt"
	"strconv"
)

// Kind says what a trace record reports.
type Kind int

const (
	KindSyscall Kind = iota // name(args) = ret
	KindSignal              // --- SIGTERM {si_signo=SIGTERM, ...} ---
	KindExit                // +++ exited with 0 +++
	KindKilled              // +++ killed by SIGTERM +++
)

func (k Kind) String() string {
	switch k {
	case KindSyscall:
		return "syscall"
	case KindSignal:
		return "signal"
	case KindExit:
		return "exit"
	case KindKilled:
		return "killed"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// A Call is one record of a trace: a system call (an <unfinished ...> line
// and its <... resumed> line merged into one), a signal delivery or the end
// of a process.
type Call struct {
	Line int  // line where the record starts, from 1
	PID  int  // process or thread id; 0 for lines without a pid prefix
	Kind Kind // what the record is

	Name    string   // KindSyscall: the kernel's name, as strace prints it (accept4, not accept)
	Args    string   // KindSyscall: raw text between the parentheses; KindSignal: the siginfo
	ArgList []string // Args split at top-level commas; strings, {}, [], () and -y's <path> kept whole

	RetText  string // raw text after "= ": "3<socket:[1]>", "-1 EAGAIN (Resource ...)", "?"
	Ret      int64  // the return value; -1 on error, 0 when NoReturn
	Errno    string // "EAGAIN", "ERESTARTSYS"; "" on success
	NoReturn bool   // "= ?" (exit_group, interrupted by a signal) or never resumed

	Signal   string // KindSignal, KindKilled: "SIGTERM"
	ExitCode int    // KindExit
}

// Failed reports whether the call returned an error (Errno is set).
func (c Call) Failed() bool { return c.Errno != "" }

// Arg returns the i'th argument, or "" when there is none.
func (c Call) Arg(i int) string {
	if i < 0 || i >= len(c.ArgList) {
		return ""
	}
	return c.ArgList[i]
}

// ArgFD returns argument i as a file descriptor: a decimal number, with or
// without strace -y's <path> annotation ("3" or "3<socket:[9319]>").
func (c Call) ArgFD(i int) (int, bool) {
	fd, _, ok := parseFD(c.Arg(i))
	return fd, ok
}

// RetFD returns the return value as a file descriptor and its -y
// annotation ("socket:[9319]", or "" without -y).
func (c Call) RetFD() (fd int, path string, ok bool) {
	if c.Failed() || c.NoReturn {
		return 0, "", false
	}
	return parseFD(firstToken(c.RetText))
}

// HasFlag reports whether argument i names flag among its symbols:
// HasFlag(1, "SOCK_NONBLOCK") on socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, ...),
// HasFlag(2, "SO_BROADCAST") on setsockopt(3, SOL_SOCKET, SO_BROADCAST, [1], 4).
// Symbols inside quoted strings and -y annotations do not count.
func (c Call) HasFlag(i int, flag string) bool {
	for _, s := range symbols(c.Arg(i)) {
		if s == flag {
			return true
		}
	}
	return false
}

func (c Call) String() string {
	switch c.Kind {
	case KindSignal:
		return fmt.Sprintf("%d --- %s %s ---", c.PID, c.Signal, c.Args)
	case KindExit:
		return fmt.Sprintf("%d +++ exited with %d +++", c.PID, c.ExitCode)
	case KindKilled:
		return fmt.Sprintf("%d +++ killed by %s +++", c.PID, c.Signal)
	}
	return fmt.Sprintf("%d %s(%s) = %s", c.PID, c.Name, c.Args, c.RetText)
}

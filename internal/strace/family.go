package strace

// A Substitution names a kernel entry that strace shows where the C
// program, as written, calls another function: the family a parity test
// compares. socklab compare prints the list.
type Substitution struct {
	Kernel string // the name strace shows
	When   string // the condition on the arguments, "" for always
	C      string // the family: the C function the program calls
	Why    string // why the kernel sees the other name
}

// substitutions is the one table of families. Family applies it.
var substitutions = []Substitution{
	{"accept4", "", "accept",
		"arm64 has no accept; glibc enters there as accept4(fd, addr, len, 0), sys.Accept does so everywhere, Go's net passes SOCK_NONBLOCK|SOCK_CLOEXEC"},
	{"ppoll", "", "poll",
		"arm64 has no poll; glibc's poll enters there as ppoll, x/sys's Poll too"},
	{"pselect6", "", "select",
		"glibc (2.36 on amd64 too) implements select with pselect6; arm64 has no select"},
	{"_newselect", "", "select",
		"the select entry's name on 32-bit ABIs, for traces from elsewhere"},
	{"epoll_pwait", "", "epoll_wait",
		"arm64 has no epoll_wait; Go's runtime poller and x/sys on arm64 enter as epoll_pwait"},
	{"epoll_pwait2", "", "epoll_wait",
		"epoll_pwait with a timespec timeout (Linux 5.11), used by newer libcs"},
	{"epoll_create1", "", "epoll_create",
		"arm64 has no epoll_create; Go's runtime and x/sys's EpollCreate1 pass EPOLL_CLOEXEC"},
	{"dup3", "flags are 0", "dup2",
		"arm64 has no dup2; glibc's dup2 and Go's syscall.Dup2 enter there as dup3(old, new, 0)"},
	{"clone", "no CLONE_THREAD", "fork",
		"glibc's fork is clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD); posix_spawn and Go's os/exec use clone(CLONE_VM|CLONE_VFORK)"},
	{"clone3", "no CLONE_THREAD", "fork",
		"newer libcs and runtimes create processes with clone3; the child gets its own copy of the fd table"},
	{"vfork", "", "fork",
		"vfork creates a process that will exec; for the network sequence it is a fork"},
	{"clone", "CLONE_THREAD", "thread",
		"pthread_create and Go's runtime start threads with clone(CLONE_VM|CLONE_FILES|CLONE_THREAD|...): same process, shared fd table"},
	{"clone3", "CLONE_THREAD", "thread",
		"glibc 2.34+ pthread_create uses clone3 with CLONE_THREAD: same process, shared fd table"},
}

// Substitutions returns the table Family applies, in order, as a copy.
func Substitutions() []Substitution {
	return append([]Substitution(nil), substitutions...)
}

// Family returns the name a parity test compares for c: the C function
// the program calls, per Substitutions, or the kernel name itself. A clone
// with CLONE_THREAD is "thread"; any other clone, clone3, fork or vfork is
// "fork". Signals and exits have no family ("").
func Family(c Call) string {
	if c.Kind != KindSyscall {
		return ""
	}
	for _, s := range substitutions {
		if s.Kernel == c.Name && holds(s.When, c) {
			return s.C
		}
	}
	return c.Name
}

// holds evaluates a Substitution's When against a call.
func holds(when string, c Call) bool {
	switch when {
	case "":
		return true
	case "flags are 0":
		return c.Arg(2) == "0"
	case "CLONE_THREAD":
		return isThread(c)
	case "no CLONE_THREAD":
		return !isThread(c)
	}
	return false
}

// isThread reports whether a clone or clone3 creates a thread.
func isThread(c Call) bool {
	for i := range c.ArgList {
		if c.HasFlag(i, "CLONE_THREAD") {
			return true
		}
	}
	return false
}

// sharesFiles reports whether a clone or clone3 shares the fd table.
func sharesFiles(c Call) bool {
	for i := range c.ArgList {
		if c.HasFlag(i, "CLONE_FILES") {
			return true
		}
	}
	return false
}

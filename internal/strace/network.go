package strace

import (
	"fmt"
	"strconv"
	"strings"
)

// A Step is one call of the network sequence: a call on a socket, the
// creation of one, a readiness call watching one, or a fork.
type Step struct {
	Call            // the call as traced, made program-visible (see Network); Name is the kernel's
	Family string   // the C function, per Family: accept for accept4
	Proc   int      // process: 1 is the traced program, then 2, 3... in order of fork
	FD     int      // the descriptor the call acts on (its first argument), or -1
	Refs   []string // symbolic names of the tracked descriptors the call names: "sock#1", "ep#1"
	New    string   // what it made: "sock#2" (socket, accept, dup), "sock#1 sock#2" (socketpair), "ep#1", "proc#2" (fork)
	Ready  string   // select and poll: what the kernel reported ready, named: "in [sock#2], out [sock#2]", "sock#2 POLLIN"
	Loop   Loop     // set by Collapse: the step is one of a cycle's, made Loop.Times times in a row
}

// Key is the step as sequences compare it: family, symbolic descriptors,
// what the call made or the error; never raw fd numbers, pids or data.
// Steps of processes after the first carry their process, the steps of a
// cycle Collapse folded their place in it (not how often it ran):
//
//	socket() = sock#1
//	recvfrom(sock#1) = -1 EAGAIN
//	proc#2: sendto(sock#1)
//	recvfrom(sock#2) [loop 2/2]
func (s Step) Key() string {
	var b strings.Builder
	if s.Proc > 1 {
		fmt.Fprintf(&b, "proc#%d: ", s.Proc)
	}
	fmt.Fprintf(&b, "%s(%s)", s.Family, strings.Join(s.Refs, ", "))
	switch {
	case s.NoReturn:
		b.WriteString(" = ?")
		if s.Errno != "" {
			b.WriteString(" " + s.Errno)
		}
	case s.Errno != "":
		b.WriteString(" = -1 " + s.Errno)
	case s.New != "":
		b.WriteString(" = " + s.New)
	}
	if s.Loop.Times > 0 {
		fmt.Fprintf(&b, " [loop %d/%d]", s.Loop.Pos, s.Loop.Len)
	}
	return b.String()
}

func (s Step) String() string { return s.Key() }

// Result is what the call returned, descriptors named: "?" when it never
// returned, "-1 EAGAIN", what it made ("sock#2"), the count and what
// select or poll reported ready ("2 (in [sock#2], out [sock#2])"), or the
// number ("0" from a recvfrom at end of file).
func (s Step) Result() string {
	switch {
	case s.NoReturn:
		return "?"
	case s.Errno != "":
		return "-1 " + s.Errno
	case s.New != "":
		return s.New
	case s.Ready != "":
		return fmt.Sprintf("%d (%s)", s.Ret, s.Ready)
	}
	return strconv.FormatInt(s.Ret, 10)
}

// Families returns the family of each step, for simple equality asserts.
func Families(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Family
	}
	return out
}

// Keys returns the Key of each step.
func Keys(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Key()
	}
	return out
}

// OfProc returns the steps of process proc (1 is the traced program).
// Processes run concurrently, so only one process's steps have an order
// that two traces can be expected to share.
func OfProc(steps []Step, proc int) []Step {
	var out []Step
	for _, s := range steps {
		if s.Proc == proc {
			out = append(out, s)
		}
	}
	return out
}

// Network returns the network sequence of a trace: the calls on sockets,
// with descriptors followed from the call that made them.
//
//   - socket, socketpair and accept make sockets; dup, dup2, dup3 and
//     fcntl(F_DUPFD) give one another descriptor; close untracks one.
//     Calls on other descriptors (the files a Go runtime or ld.so opens
//     and closes) are dropped.
//   - Descriptor tables are per process: a fork (clone without
//     CLONE_FILES) copies its parent's; a thread (CLONE_THREAD) shares it;
//     a successful execve drops the close-on-exec descriptors.
//   - poll and select count when their sets hold a socket; an epoll
//     instance counts from the first epoll_ctl that adds a socket to it.
//   - Forks are steps ("proc#2"); thread creation is not, because Go's
//     runtime starts threads of its own. execve is a step, except the
//     first call of the trace, strace's own exec of the program.
//   - With strace -y, a descriptor annotated socket:[inode] is followed by
//     its inode, which also finds sockets whose creation the trace missed.
//
// Calls are made program-visible first: a call interrupted by a signal
// (ERESTARTSYS and kin, or plain EINTR, which epoll_wait and select return
// whatever SA_RESTART says) and then made again, by the kernel or by a
// retry loop (sys/ retries EINTR), appears once, where it was first made,
// with its final result; the retry may come from another thread of the
// same process (a Go program's goroutine can resume on another thread).
// One completed by restart_syscall takes that result; one the program saw
// fail and did not retry appears with EINTR. The calls of the signal
// handler that interrupted it (after the signal line, before its
// rt_sigreturn, when the trace has rt_sigreturn) are steps of their own
// where they were made and do not end the wait for the retry: a C loop's
// handler that shuts its listening socket down, then the select it
// retries, read as the Go loop's select woken by a shutdown.
//
// Symbolic names number objects in order of appearance: sockets sock#1,
// sock#2..., epoll instances ep#1..., processes proc#1.... A process
// whose creation is not in the trace counts as a thread of the first, so
// the trace must include clone, clone3, fork and vfork (Command's does).
func Network(calls []Call) []Step {
	t := &tracker{procs: make(map[int]*process), byInode: make(map[string]*object)}
	for _, c := range visible(calls) {
		switch c.Kind {
		case KindSyscall:
			p := t.process(c.PID)
			if t.started || c.Name != "execve" {
				t.call(p, c)
			}
			t.started = true
		case KindExit, KindKilled:
			delete(t.procs, c.PID)
		}
	}
	var steps []Step
	for _, st := range t.steps {
		if st.tentative != nil && !st.tentative.watched {
			continue // an epoll instance that never watched a socket
		}
		s := st.step
		for _, o := range st.refs {
			s.Refs = append(s.Refs, o.name)
		}
		var news []string
		for _, o := range st.news {
			news = append(news, o.name)
		}
		if len(news) > 0 {
			s.New = strings.Join(news, " ")
		}
		if st.ready != nil {
			s.Ready = readyText(s.Call, st.ready)
		}
		steps = append(steps, s)
	}
	return steps
}

// visible rewrites interrupted calls as the program saw them.
func visible(calls []Call) []Call {
	out := append([]Call(nil), calls...)
	drop := make([]bool, len(out))
	interrupted := make(map[int]int) // pid -> index of its interrupted call
	inHandler := make(map[int]bool)  // pid -> running the handler of the signal that interrupted its call
	brackets := false                // rt_sigreturn was traced: handlers can be told apart
	for _, c := range out {
		brackets = brackets || (c.Kind == KindSyscall && c.Name == "rt_sigreturn")
	}
	group := make(map[int]int) // thread id -> its process's first thread, for threads seen made
	leader := func(pid int) int {
		if g, ok := group[pid]; ok {
			return g
		}
		return pid
	}
	for i := range out {
		c := &out[i]
		if c.Kind == KindSyscall && (c.Name == "clone" || c.Name == "clone3") && isThread(*c) && c.Ret > 0 {
			group[int(c.Ret)] = leader(c.PID)
		}
		if c.Kind == KindExit || c.Kind == KindKilled {
			delete(interrupted, c.PID)
			delete(inHandler, c.PID)
		}
		if _, ok := interrupted[c.PID]; ok && brackets && c.Kind == KindSignal {
			inHandler[c.PID] = true
		}
		if c.Kind != KindSyscall {
			continue
		}
		if c.Name == "rt_sigreturn" { // the handler returns, to the retry or to what the program does next
			drop[i] = true
			delete(inHandler, c.PID)
			continue
		}
		if inHandler[c.PID] {
			if prev := &out[interrupted[c.PID]]; c.Name != "restart_syscall" && (c.Name != prev.Name || c.Arg(0) != prev.Arg(0)) {
				continue // a call of the handler
			}
			delete(inHandler, c.PID) // no rt_sigreturn line: the retry ends the handler too
		}
		if _, ok := interrupted[c.PID]; !ok {
			// A Go program's retry after EINTR may run on another thread
			// (the goroutine's P was taken while it sat in the call): an
			// interrupted call whose thread has made no call since, made
			// again on the same descriptor by a thread of its process, is
			// that retry.
			for pid, j := range interrupted {
				if prev := &out[j]; prev.Name == c.Name && prev.Arg(0) == c.Arg(0) && leader(pid) == leader(c.PID) {
					delete(interrupted, pid)
					interrupted[c.PID] = j
					break
				}
			}
		}
		if j, ok := interrupted[c.PID]; ok {
			delete(interrupted, c.PID)
			prev := &out[j]
			switch {
			case c.Name == "restart_syscall": // the kernel resumed prev; this is its result
				prev.RetText, prev.Ret, prev.Errno, prev.NoReturn = c.RetText, c.Ret, c.Errno, c.NoReturn
				drop[i] = true
				if isRestart(prev.Errno) {
					interrupted[c.PID] = j
				}
				continue
			case c.Name == prev.Name && c.Arg(0) == prev.Arg(0): // restarted, where it was first made
				prev.RetText, prev.Ret, prev.Errno, prev.NoReturn = c.RetText, c.Ret, c.Errno, c.NoReturn
				drop[i] = true
				if isRestart(c.Errno) || c.Errno == "EINTR" {
					interrupted[c.PID] = j
				}
				continue
			default: // the program saw EINTR
				prev.Ret, prev.Errno, prev.NoReturn = -1, "EINTR", false
			}
		}
		if isRestart(c.Errno) || c.Errno == "EINTR" {
			interrupted[c.PID] = i // EINTR too: epoll_wait and kin are never restarted, sys/ retries them
		}
	}
	kept := out[:0]
	for i, c := range out {
		if !drop[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

func isRestart(errno string) bool { return strings.HasPrefix(errno, "ERESTART") }

// fdFirst lists the calls whose first argument is a descriptor and that
// count when it is a socket.
var fdFirst = map[string]bool{
	"bind": true, "listen": true, "connect": true, "shutdown": true,
	"getsockname": true, "getpeername": true, "getsockopt": true, "setsockopt": true,
	"recv": true, "recvfrom": true, "recvmsg": true, "recvmmsg": true,
	"send": true, "sendto": true, "sendmsg": true, "sendmmsg": true,
	"read": true, "write": true, "readv": true, "writev": true,
	"pread64": true, "pwrite64": true, "sendfile": true, "splice": true,
	"ioctl": true, "fstat": true,
}

// Package strace runs programs under strace(1) and turns the trace into the
// sequence of network system calls that socklab's parity tests compare:
// each Go program against its C reference (udp/testdata/*.c,
// tcp/testdata/*.c) and against its net twin.
//
// # Tracing
//
// Command runs a program as
//
//	strace -f -q -y -o FILE -e trace=%network,close,clone,...,restart_syscall,rt_sigreturn[,extra] -- PROG ARGS
//
// -f follows forks and threads, so every line starts with the pid (the
// thread id) that made the call; -e trace=%network selects the socket
// calls (socket, bind, accept4, recvfrom, setsockopt, ...), and the rest
// of the set (Syscalls) is what following descriptors needs: close, the
// clone family, execve, dup, fcntl. select, poll and epoll are not in
// %network; pass ReadinessSyscalls as extras to see them, and read and
// write to see I/O on connected sockets. -y prints each descriptor with
// what it is ("3<socket:[9319]>").
//
// A server is stopped with Signal, which finds the traced program through
// /proc/PID/task/*/children of the strace process (TraceePID). Signalling
// strace itself does not work: writing to a file, strace blocks SIGTERM
// while its tracee runs, and a killed strace detaches and leaves the
// program running.
//
// # Kernel names and families
//
// strace shows the kernel's names, which are not always the names of the C
// functions the programs call: glibc's accept enters arm64's kernel as
// accept4, its select enters as pselect6, its fork is a clone with
// SIGCHLD. Family maps a kernel call to the C name through one table,
// Substitutions, which says for each entry why the names differ; parity
// tests compare families, and socklab compare prints the table.
//
// # Following descriptors
//
// Network keeps only the calls on sockets: a descriptor is a socket from
// the socket, socketpair or accept that returned it, and stays one through
// dup and fork until closed. The files a Go runtime or ld.so opens and
// closes at startup are dropped, and the runtime's threads share their
// process's descriptors. Sockets are renamed sock#1, sock#2... in order of
// appearance, so that a Go program whose first socket is descriptor 5
// compares equal to a C program whose first socket is 3; Diff aligns two
// such sequences and reports what is only in one of them. Per the style
// guide, assert on order and descriptor flow by family, not on argument
// text; Call.HasFlag checks a flag where a test needs one
// (SOCK_NONBLOCK in the net twin's socket call).
//
// # Loops
//
// A busy loop makes as many rounds as the scheduler allows, so its trace
// has a different length every run. Collapse folds each run of rounds that
// are the same calls with the same results into one round marked with its
// count (Step.Loop); Align compares the folded rounds and their results,
// never the counts. A round that differs in any call or result is not
// folded into its neighbours. Network names what select and poll reported
// ready (Step.Ready), which is part of a round's result.
//
// Man pages: strace(1), ptrace(2), clone(2), proc(5) (/proc/PID/task/TID/children).
// Linux only; the package needs the strace binary (apt-get install strace).
package strace

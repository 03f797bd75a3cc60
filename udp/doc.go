// Package udp holds socklab's UDP programs from "Programming Linux sockets,
// Part 2": the echo server and client (sections 3 to 5), each in two Go
// versions beside a C reference:
//
//	echo_server.go      raw: socket, bind, recvfrom, sendto through package sys
//	echo_server_net.go  the same program on the net package
//	testdata/echo_server.c  the C twin, compiled by the tests
//
// and likewise echo_client.go, echo_client_net.go, testdata/echo_client.c.
// echo_batch.go is a performance variant of the server on recvmmsg and
// sendmmsg, with testdata/echo_server_batch.c as its twin.
//
// Section 6 ("Servers that scale") adds the lengthy-action server in every
// concurrency model, lengthy_<model>.go beside testdata/lengthy_<model>.c
// (lengthy.go lists them), and the stress client that fires N requests at
// once, stress_client.go and stress_client_net.go.
//
// The server twins include testdata/common.h, which holds what they all
// repeat (die, signal catching, the bound socket, the report lines, the
// lengthy action's sleep and reply), as tcp/testdata/common.h does for
// the TCP twins.
//
// The raw programs make the same network system calls as their C twins, in
// the same order; the tests prove it with strace. Every deliberate
// difference is listed in the doc comment of the Go file.
//
// A server writes its "Client connected" lines and reports to the
// caller's io.Writer (EchoConfig.Log, LengthyConfig.Log), synchronously, as a C twin writes
// stderr. The socklab command gives its servers a log that never blocks
// them: a bounded buffer written out by a goroutine, lines dropped and
// counted while stderr takes none, a write to a closed stderr ignored
// (cmd/socklab/logwriter.go). The C twins ignore SIGPIPE, so a closed
// stderr costs them the reports only, but a stalled one (a pipe nobody
// reads) stops them in write(2), and their stop on SIGTERM with it.
//
// Every server, raw, net and C, refuses by default what could start an
// echo loop between two servers (CVE-1999-0103): a datagram from a
// reserved port, from its own port or from a source that cannot be a
// client, and, with --rate, the replies to one address beyond a rate
// (guard.go, LoopGuard). --no-loop-guard answers all, as the tutorial does.
//
// Man pages: socket(2), bind(2), recvfrom(2), sendto(2), recvmmsg(2),
// sendmmsg(2), shutdown(2), fork(2), wait4(2), epoll(7), timerfd_create(2),
// udp(7), ip(7). Linux only.
package udp

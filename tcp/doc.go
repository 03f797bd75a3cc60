// Package tcp holds socklab's TCP programs from section 6 of "Programming
// Linux sockets, Part 2": the echo server in every concurrency model, the
// echo client and the slow client. Each program has one stem shared by up
// to three files:
//
//	iterative.go      raw: socket, bind, listen, accept, recv, send through package sys
//	iterative_net.go  the same program on the net package
//	testdata/iterative.c  the C twin, compiled by the tests
//
// Models: iterative (the tutorial's one-at-a-time server), thread (a
// goroutine per connection), select (robust, and select_faithful.go for
// the tutorial's fragile version), poll, fork (a real fork(2) per
// connection, the child echoing through sys.ForkEcho), and epoll
// (edge-triggered, one loop per SO_REUSEPORT socket). Clients: client.go,
// slow_client.go, with net and C twins. models.go is the one table of the
// models (mode, files, flags, serve functions) that the command line, the
// lab, compare and the tests read.
//
// A raw server runs until its context is done, then shuts its listening
// socket down, as each C twin's SIGTERM handler does; a net twin runs
// until its listener is closed.
//
// Shared rules, in Go and C alike: the listen backlog is 20 and a server
// reads 32 bytes at a time, as in the tutorial; every write loops until all
// bytes are out (Stevens' writen); sends pass MSG_NOSIGNAL, so a client
// that resets its connection costs an EPIPE, never a SIGPIPE. The raw
// servers make the same network system calls as their C twins, in the
// same order; the tests prove it with strace. Every deliberate difference
// is listed in the doc comment of the Go file.
//
// A server writes its "Client connected" lines and reports to the
// caller's io.Writer (Config.Log), synchronously, as a C twin writes
// stderr. The socklab command gives its servers a log that never blocks
// them: a bounded buffer written out by a goroutine, lines dropped and
// counted while stderr takes none, a write to a closed stderr ignored
// (cmd/socklab/logwriter.go). The C twins ignore SIGPIPE, so a closed
// stderr costs them the reports only, but a stalled one (a pipe nobody
// reads) stops them in write(2), and their stop on SIGTERM with it.
//
// Man pages: socket(2), bind(2), listen(2), accept(2), connect(2), recv(2),
// send(2), shutdown(2), select(2), poll(2), tcp(7), socket(7). Linux only.
package tcp

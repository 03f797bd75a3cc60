// Package bench is socklab's load generator, the engine of `socklab bench`
// and of the lab's throughput experiment. It drives an echo server over
// loopback on the raw layer (package sys through poll.Epoll) and measures
// what comes back:
//
//	UDP: N connected sockets, recvmmsg/sendmmsg in batches, W datagrams in
//	     flight on each; a datagram unanswered within Config.Timeout is
//	     counted lost and its slot reused, so the run never waits forever.
//	TCP: N connections, W messages in flight on each, sent and received
//	     with MSG_DONTWAIT; a connection silent for Config.Timeout with
//	     messages in flight is an error.
//
// Every message carries a header (sequence number, connection, slot) and a
// pattern derived from it, and every echo is checked byte for byte: a
// flipped byte, a short or long echo, a reply sent to the wrong
// connection, a duplicate or an old message replayed is reported as
// ErrWrongEcho. Latencies go into an HDR histogram
// (github.com/HdrHistogram/hdrhistogram-go). One goroutine runs the loop;
// once set up it allocates nothing per message.
//
// Not a tutorial program, so there is no C twin; it measures the twins.
// Targets outside 127.0.0.0/8 are refused unless Config.AllowRemote is set.
// The raw layer speaks IPv4 only (package sys has no sockaddr_in6).
//
// Man pages: epoll(7), recvmmsg(2), sendmmsg(2), send(2), recv(2), udp(7),
// tcp(7). Linux only.
package bench

package main

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/poll"
	"github.com/socklab/socklab/sys"
)

// BenchmarkTCPEcho measures 64-byte ping-pong on loopback: conns
// connections, each with one message in flight, against every concurrent
// server model as a process, as a user runs it. The C epoll server runs
// first at each size and every other sub-benchmark reports its rate as a
// fraction of it (x_c_epoll), so compare within one run. Both epoll
// servers run two loops. The thread, select and poll servers read 32
// bytes at a time, as the tutorial's do, so a 64-byte echo leaves in two
// segments and the second waits for the client's delayed ACK (Nagle): they
// measure that stall, in Go and C alike.
func BenchmarkTCPEcho(b *testing.B) {
	loops := strconv.Itoa(2)
	servers := []struct {
		model, impl string
		argv        func(b *testing.B) []string
	}{
		{"epoll", "c", func(b *testing.B) []string {
			return quietC(cBinaryPthread(b, "tcp/testdata/epoll.c"), "0", loops)
		}},
		{"epoll", "raw", func(*testing.B) []string {
			return socklab("tcp-echo-server", "--mode", "epoll", "--loops", loops, "--quiet", "0")
		}},
		{"thread", "raw", func(*testing.B) []string { return socklab("tcp-echo-server", "--mode", "thread", "--quiet", "0") }},
		{"thread", "net", func(*testing.B) []string {
			return socklab("tcp-echo-server", "--mode", "thread", "--impl", "net", "--quiet", "0")
		}},
		{"thread", "c", func(b *testing.B) []string { return quietC(cBinaryPthread(b, "tcp/testdata/thread.c"), "0") }},
		{"select", "raw", func(*testing.B) []string { return socklab("tcp-echo-server", "--mode", "select", "--quiet", "0") }},
		{"select", "c", func(b *testing.B) []string { return quietC(cBinary(b, "tcp/testdata/select.c"), "0") }},
		{"poll", "raw", func(*testing.B) []string { return socklab("tcp-echo-server", "--mode", "poll", "--quiet", "0") }},
		{"poll", "c", func(b *testing.B) []string { return quietC(cBinary(b, "tcp/testdata/poll.c"), "0") }},
	}
	raiseNofile(b, 4096)
	for _, conns := range []int{50, 1000} {
		var cEpoll float64 // msg/s of the C epoll server at this size
		for _, s := range servers {
			b.Run(fmt.Sprintf("%s/%s/conns=%d", s.model, s.impl, conns), func(b *testing.B) {
				p := startServer(b, s.argv(b)...)
				defer p.stop(b, syscall.SIGTERM)
				var lim sys.Rlimit
				sys.Getrlimit(unix.RLIMIT_NOFILE, &lim)
				if err := sys.Prlimit(p.Cmd.Process.Pid, unix.RLIMIT_NOFILE, &sys.Rlimit{Cur: lim.Max, Max: lim.Max}, nil); err != nil {
					b.Fatal(err)
				}
				rate := pingPong(b, p.Port, conns, 64)
				if s.model == "epoll" && s.impl == "c" {
					cEpoll = rate
				} else if cEpoll > 0 {
					b.ReportMetric(rate/cEpoll, "x_c_epoll")
				}
			})
		}
	}
}

// raiseNofile raises this process's descriptor limit to at least n for
// the benchmark and restores it afterwards.
func raiseNofile(b *testing.B, n uint64) {
	var old sys.Rlimit
	if err := sys.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		b.Fatal(err)
	}
	if old.Cur >= n {
		return
	}
	if old.Max < n {
		b.Skipf("RLIMIT_NOFILE ceiling %d is below the %d descriptors the benchmark needs", old.Max, n)
	}
	if err := sys.Setrlimit(unix.RLIMIT_NOFILE, &sys.Rlimit{Cur: n, Max: old.Max}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sys.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// pingPong opens conns connections to 127.0.0.1:port and keeps one size-
// byte message in flight on each until b.N have come back; it reports and
// returns messages a second. The client is one level-triggered epoll loop.
func pingPong(b *testing.B, port, conns, size int) float64 {
	ep, err := poll.NewEpoll(unix.EPOLL_CLOEXEC, 256)
	if err != nil {
		b.Fatal(err)
	}
	defer ep.Close()
	fds := make([]int, 0, conns)
	defer func() {
		for _, fd := range fds {
			sys.Close(fd)
		}
	}()
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, port)
	maxfd := 0
	for range conns {
		// non-blocking connect, then wait: a blocking one returns EINTR when
		// the runtime preempts the thread, and one at a time never
		// overflows the servers' backlog of 20
		fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, fd)
		if err := sys.Connect(fd, &sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			b.Fatal(err)
		}
		pfd := []sys.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := sys.Poll(pfd, 5*time.Second); n != 1 || err != nil || pfd[0].Revents != unix.POLLOUT {
			b.Fatalf("connection %d: poll %d, %v, revents %#x", len(fds), n, err, pfd[0].Revents)
		}
		if err := sys.SetNonblock(fd, false); err != nil {
			b.Fatal(err)
		}
		sys.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := ep.Add(fd, unix.EPOLLIN); err != nil {
			b.Fatal(err)
		}
		maxfd = max(maxfd, fd)
	}
	got := make([]int, maxfd+1)
	msg := make([]byte, size)
	buf := make([]byte, 4096)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	sent, done := 0, 0
	for _, fd := range fds {
		if sent == b.N {
			break
		}
		if _, err := sys.Send(fd, msg, unix.MSG_NOSIGNAL); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	for done < b.N {
		events, err := ep.Wait(5 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if len(events) == 0 {
			b.Fatalf("no echo within 5s; %d of %d messages back", done, b.N)
		}
		for _, ev := range events {
			fd := int(ev.Fd)
			n, err := sys.Recv(fd, buf, unix.MSG_DONTWAIT)
			if err != nil || n == 0 {
				b.Fatalf("recv: %d, %v", n, err)
			}
			got[fd] += n
			for got[fd] >= size {
				got[fd] -= size
				done++
				if sent < b.N {
					if _, err := sys.Send(fd, msg, unix.MSG_NOSIGNAL); err != nil {
						b.Fatal(err)
					}
					sent++
				}
			}
		}
	}
	b.StopTimer()
	rate := float64(done) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "msg/s")
	return rate
}

// Package poll is socklab's readiness layer over package sys for the
// programs whose lesson is not the readiness call itself: an epoll
// instance with its event buffer, timers, and a wake descriptor.
//
//   - Epoll (epoll.go) wraps an epoll instance, level- or edge-triggered:
//     the event loops of tcp/epoll.go, udp's async lengthy server and
//     internal/bench.
//   - Timer (timer.go) is a timerfd that an epoll loop watches.
//   - Wake is an eventfd that a loop watches beside its sockets, so that
//     another goroutine can stop it: close(2) does not wake a thread
//     blocked in epoll_wait on the descriptor being closed. The servers of
//     package tcp need none; they stop by shutdown(2) of the listening
//     socket, as their C twins do.
//
// The select and poll servers of package tcp keep their sys.FdSet values
// and their []sys.PollFd themselves, as Stevens' tcpservselect01.c and
// tcpservpoll01.c do, so they do not come here.
//
// EINTR is retried by sys, with the timeout recomputed from a deadline, so
// a Wait returns on readiness, timeout or a real error only. Nothing here
// allocates once the event buffers have grown to their working size.
//
// Man pages: epoll(7), timerfd_create(2), eventfd(2). Linux only.
package poll

// Package poll is socklab's readiness layer over package sys: the
// bookkeeping a C event loop keeps around select(2), poll(2) and epoll(7),
// so that the servers of package tcp read like Stevens' tcpservselect01.c
// and tcpservpoll01.c without re-deriving maxfd or free slots each time.
//
//   - Select keeps the interest sets apart from the sets the kernel
//     overwrites, and refuses a descriptor of FD_SETSIZE (1024) or more
//     with an error (sys.ErrFDSetSize) where x/sys/unix's FdSet.Set
//     panics and C's FD_SET writes past the set.
//   - Poll is a []pollfd whose free slots hold -1, reused before the
//     array grows: no descriptor ceiling.
//   - Epoll (epoll.go) wraps an epoll instance, level- or edge-triggered.
//   - Wake is an eventfd that a loop watches beside its sockets, so that
//     another goroutine can stop it: close(2) does not wake a thread
//     blocked in select or poll on the descriptor being closed.
//
// EINTR is retried by sys, with the timeout recomputed from a deadline, so
// a Wait returns on readiness, timeout or a real error only. Nothing here
// allocates once the sets have grown to their working size.
//
// Man pages: select(2), poll(2), epoll(7), eventfd(2). Linux only.
package poll

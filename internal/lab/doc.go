// Package lab runs socklab's experiments, the front end of `socklab lab`:
// the tutorial's programs side by side on loopback, every server on a port
// the kernel picks, each experiment printed as a table.
//
//	E0  echo.go        the UDP echo pair of sections 3 to 5: every client against every
//	                   server, each client's network system calls (strace, when installed)
//	E1  lengthy.go     section 6's lengthy action: the stress client against every
//	                   udp-lengthy-server mode; time over the physical limit (the delay)
//	E2  slow.go        section 6's slow clients against every tcp-echo-server model; time
//	                   over one client's own dribble time
//	E3  idle.go        K idle connections and one ping-pong against select, poll, epoll
//	                   and net; the active client's latency against K
//	E4  throughput.go  internal/bench against the raw, net and C echo servers
//
// The tutorial's delays (5 s, 0.1 s) are scaled by Config.Scale so that the
// default run takes well under a minute; Config.Faithful restores them.
// E1 and E2 run their servers in this process (fork-exec and prefork
// re-execute Config.Self, which must be socklab); E3 and E4 run each
// server as a process of its own, and E4 builds the C twins with cc from
// a socklab checkout (csrc.go says where it looks). Every server is
// stopped before its experiment returns, on success, failure or
// cancellation. WriteReport writes report.md, results.json and SVG plots
// drawn with gonum.org/v1/plot. Linux only.
package lab

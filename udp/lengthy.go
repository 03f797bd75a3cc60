package udp

import (
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// The lengthy-action servers of the tutorial's section 6 ("Servers that
// scale"): each request takes Delay (the tutorial's sleep(5)) before the
// server replies with the message upper-cased. One file per concurrency
// model, each beside its C twin:
//
//	lengthy_iterative.go  testdata/lengthy_iterative.c  one request at a time
//	lengthy_thread.go     testdata/lengthy_thread.c     a goroutine (pthread) per request
//	lengthy_thread_net.go                               the same on package net
//	lengthy_fork.go       testdata/lengthy_fork.c       a real fork(2) per request
//	lengthy_forkexec.go   testdata/lengthy_forkexec.c   re-exec per request (os/exec; C: fork + execve)
//	lengthy_async.go      testdata/lengthy_async.c      one thread: epoll + a timerfd per request
//	lengthy_prefork.go    testdata/lengthy_prefork.c    N workers sharing the socket (Go re-execs them)
//
// Every server is started on a socket from Listen and stopped with
// Stop, and shares these differences from the tutorial (and with
// its C twin, where there is one):
//   - recvfrom passes MSG_TRUNC: a datagram longer than the buffer is
//     reported and not answered as if it were whole;
//   - "Client connected" is printed by the receiving loop, before the
//     request is handed over (the Go fork child cannot format text);
//   - replies go out with MSG_DONTWAIT, as the echo server's do;
//   - the echo-loop guard (guard.go) drops a datagram from a reserved
//     port, the server's own port or an impossible source, before it is
//     reported or handed over;
//   - the concurrent models bound the requests in progress (MaxChildren);
//     a request over the bound is dropped and reported with a count, never
//     silently;
//   - a stopped server receives no more but lets the requests in progress
//     finish and reply before it returns.

// LengthyConfig configures the lengthy-action servers.
type LengthyConfig struct {
	Delay       time.Duration // how long each request takes; the tutorial's is 5 s
	BufSize     int           // receive buffer; DefaultBufSize when 0
	MaxChildren int           // requests in progress at once (children, goroutines, timers); DefaultMaxChildren when 0
	Workers     int           // prefork: worker processes; DefaultWorkers when 0
	Command     []string      // fork-exec, prefork: the argv that runs this program again; the role's arguments follow (ChildArgs, WorkerArgs)
	Log         io.Writer     // "Client connected" lines and reports; nil discards
	Quiet       bool          // no "Client connected" lines
	Guard       LoopGuard     // the echo-loop guard (guard.go)
	// Done, once closed, ends the receiving loop after the request in
	// hand, as the C twins' signal handler sets their stop flag; a
	// blocked recvfrom is woken by Stop. With Done nil a server stops
	// once Stop has been called and no datagram is queued, which a
	// steady sender never allows.
	Done <-chan struct{}
}

// DefaultDelay is the tutorial's sleep(5).
const DefaultDelay = 5 * time.Second

// DefaultMaxChildren bounds the requests in progress when
// LengthyConfig.MaxChildren is 0.
const DefaultMaxChildren = 64

// DefaultWorkers is the number of prefork workers when
// LengthyConfig.Workers is 0: one per request of the stress client.
const DefaultWorkers = 20

// MaxWorkers bounds --workers: more processes than that blocked on one
// socket serve no one faster, and each costs a process slot and memory.
const MaxWorkers = 1024

// Modes lists the concurrency models, in the order of the tutorial's text.
var Modes = []string{"iterative", "thread", "fork", "fork-exec", "async", "prefork"}

func (c LengthyConfig) log() io.Writer { return EchoConfig{Log: c.Log}.log() }

func (c LengthyConfig) bufSize() int { return EchoConfig{BufSize: c.BufSize}.bufSize() }

func (c LengthyConfig) maxChildren() int {
	if c.MaxChildren <= 0 {
		return DefaultMaxChildren
	}
	return c.MaxChildren
}

// stopping reports whether Done is closed: the C twins' while (!stop).
func (c LengthyConfig) stopping() bool { return stopping(c.Done) }

func (c LengthyConfig) workers() int {
	if c.Workers <= 0 {
		return DefaultWorkers
	}
	return c.Workers
}

// ToUpper upper-cases the ASCII letters of p in place, as the C twins'
// toupper(3) does in the C locale (the tutorial's message.upper()).
func ToUpper(p []byte) {
	for i, c := range p {
		if 'a' <= c && c <= 'z' {
			p[i] = c - ('a' - 'A')
		}
	}
}

// report writes what every lengthy server says about a client, as the C
// twins' connected, truncated and dropped do (testdata/common.h): the
// "Client connected" line unless quiet, a truncated datagram, a request
// over the bound with the running count. Its line buffer is reused, so the
// report of a served request allocates nothing.
type report struct {
	w     io.Writer
	quiet bool
	line  []byte
	drops int
	guard *guard // the receiving loop's echo-loop guard
}

func newReport(w io.Writer, cfg LengthyConfig) *report {
	return &report{w: w, quiet: cfg.Quiet, line: make([]byte, 0, 64), guard: newGuard(cfg.Guard, w)}
}

// connected reports a client: "Client connected: 127.0.0.1".
func (r *report) connected(client *sys.SockaddrIn) {
	if !r.quiet {
		r.line = append(sys.AppendInetNtoa(append(r.line[:0], "Client connected: "...), client.Addr), '\n')
		r.w.Write(r.line)
	}
}

// truncated reports a datagram of received bytes that did not fit the
// buffer of size bytes (recvfrom's MSG_TRUNC gives its real length).
func (r *report) truncated(client *sys.SockaddrIn, received, size int) {
	fmt.Fprintf(r.w, "Datagram from %s truncated: %d bytes, buffer %d; not answered\n",
		client.String(), received, size)
}

// dropped reports a request over the bound, with the running count.
func (r *report) dropped(client *sys.SockaddrIn, live, bound int) {
	r.drops++
	fmt.Fprintf(r.w, "Dropped a request from %s: %d in progress (--max-children %d); %d dropped so far\n",
		client.String(), live, bound, r.drops)
}

// reply upper-cases msg in place and sends it to client: the end of the
// tutorial's lengthy_action. A failed or short send is reported to w and
// returned.
func reply(fd int, msg []byte, client *sys.SockaddrIn, w io.Writer) error {
	ToUpper(msg)
	sent, err := sys.Sendto(fd, msg, unix.MSG_DONTWAIT, client)
	if err != nil || sent != len(msg) {
		err = fmt.Errorf("Mismatch in number of sent bytes: %d of %d to %s: %v",
			sent, len(msg), client.String(), err)
		fmt.Fprintln(w, err)
		return err
	}
	return nil
}

// lockedWriter serialises writes from the goroutines of one server.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package udp

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Threaded stress client, the Go mirror of testdata/stress_client.c and of
// the tutorial's UDPechoclient2.py (section 6):
//
//	N at once: socket -> sendto(server) -> recvfrom -> check the sender ->
//	           close -> print; then the total time
//
// Client n sends "<word> [n]" (StressMessage) from a socket of its own and
// must get it back upper-cased, as the lengthy-action servers make it.
// Each reply is printed as it arrives, the time from the first socket to
// the last reply last.
//
// Differences from the tutorial's client, shared with the C twin:
//   - each reply is checked; a lost one (with Timeout), a wrong one or one
//     longer than the buffer is reported by its client's number, and the
//     run fails naming them (StressResult.Err);
//   - the reports are held back until a client gets its right reply: when
//     none does (nothing answered within Timeout), the run says only that
//     every client failed and why the first did, and no time is printed;
//   - as in the echo client: a dotted quad only, a datagram from anyone but
//     the server is reported and ignored, recvfrom passes MSG_TRUNC;
//   - Timeout > 0 sets SO_RCVTIMEO after socket, and a stray datagram does
//     not restart the clock (setsockopt again with what is left); off by
//     default, as the tutorial's client waits forever.
//
// From Go: a goroutine per client instead of a thread; each blocks in the
// kernel's recvfrom and so holds an OS thread while it waits, as a pthread
// does. One mutex guards the result and both writers (C's out mutex; C's
// stdio locks stderr by itself).

// DefaultClients is the tutorial's number of client threads.
const DefaultClients = 20

// StressConfig configures Stress and StressNet.
type StressConfig struct {
	Clients int           // requests fired at once; DefaultClients when 0
	Timeout time.Duration // how long each client waits for its reply; 0 waits forever, as the tutorial does
	BufSize int           // each client's receive buffer; DefaultBufSize when 0
	Out     io.Writer     // "Received: <reply>" lines, as the replies arrive; nil discards
	Log     io.Writer     // "[n]: reason" for each failed client, held back until a right reply (none: Err says so), and ignored stray datagrams; nil discards
}

func (c StressConfig) clients() int {
	if c.Clients <= 0 {
		return DefaultClients
	}
	return c.Clients
}

// StressResult is what a run saw.
type StressResult struct {
	Elapsed time.Duration // from before the first socket to the last reply or give-up
	Replies int           // right replies
	Missing []int         // clients that got no reply
	Wrong   []int         // clients whose reply was not their message upper-cased, or too long
	First   error         // why the first client to fail failed; nil when none did
}

// Err returns nil when every client got its right reply; when none did,
// an error saying so with the first one's reason; otherwise an error
// naming the clients that did not.
func (r StressResult) Err() error {
	if r.Replies == 0 && r.First != nil {
		return fmt.Errorf("every one of the %d clients failed; first: %w", len(r.Missing)+len(r.Wrong), r.First)
	}
	var parts []string
	if len(r.Missing) > 0 {
		parts = append(parts, "no reply for "+clientList(r.Missing))
	}
	if len(r.Wrong) > 0 {
		parts = append(parts, "wrong reply for "+clientList(r.Wrong))
	}
	if parts == nil {
		return nil
	}
	return fmt.Errorf("%d of %d replies right: %s", r.Replies,
		r.Replies+len(r.Missing)+len(r.Wrong), strings.Join(parts, "; "))
}

func clientList(ns []int) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("[" + strconv.Itoa(n) + "]")
	}
	return b.String()
}

// StressMessage is client n's message: "<word> [n]", as the tutorial's.
func StressMessage(word string, n int) string { return word + " [" + strconv.Itoa(n) + "]" }

// Stress runs the stress client against server:port with raw sockets.
func Stress(server [4]byte, port int, word string, cfg StressConfig) StressResult {
	return runStress(word, cfg, func(message string, w io.Writer) (string, error) {
		return stressRequest(server, port, message, cfg, w)
	})
}

// stressOut is what the clients write to: Out and Log behind one mutex,
// which guards the result too. Write is Log's, for the stray reports a
// request makes on its own.
type stressOut struct {
	mu       sync.Mutex
	out, log io.Writer
	res      StressResult
	held     []string // failed clients' reports, until a right reply
}

// failed notes why client n failed and, if report, writes "[n]: why" to
// Log: held back until a client gets its right reply, so that a run in
// which none does says only that (Err).
func (o *stressOut) failed(n int, why error, report bool) {
	if o.res.First == nil {
		o.res.First = why
	}
	if !report {
		return
	}
	line := fmt.Sprintf("[%d]: %v\n", n, why)
	if o.res.Replies == 0 {
		o.held = append(o.held, line)
		return
	}
	io.WriteString(o.log, line)
}

// right counts a right reply; the first releases the held reports.
func (o *stressOut) right() {
	if o.res.Replies++; o.res.Replies == 1 {
		for _, line := range o.held {
			io.WriteString(o.log, line)
		}
		o.held = nil
	}
}

func (o *stressOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.log.Write(p)
}

// runStress is C's main and the end of its request(): one goroutine a
// client, each printing its outcome; then the time.
func runStress(word string, cfg StressConfig, request func(message string, w io.Writer) (string, error)) StressResult {
	o := &stressOut{out: cfg.Out, log: cfg.Log}
	if o.out == nil {
		o.out = io.Discard
	}
	if o.log == nil {
		o.log = io.Discard
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	for n := range cfg.clients() {
		wg.Go(func() {
			message := StressMessage(word, n)
			reply, err := request(message, o)
			o.mu.Lock()
			defer o.mu.Unlock()
			switch {
			case err != nil:
				o.failed(n, err, true)
				if errors.Is(err, ErrTruncated) { // a reply too long is a wrong one
					o.res.Wrong = append(o.res.Wrong, n)
				} else {
					o.res.Missing = append(o.res.Missing, n)
				}
			default:
				fmt.Fprintf(o.out, "Received: %s\n", reply)
				want := []byte(message) // what the server must send back
				ToUpper(want)
				if reply == string(want) {
					o.right()
				} else {
					o.failed(n, fmt.Errorf("wrong reply %q, want %q", reply, want), false)
					o.res.Wrong = append(o.res.Wrong, n)
				}
			}
		})
	}
	wg.Wait()
	o.res.Elapsed = time.Since(t0)
	sort.Ints(o.res.Missing)
	sort.Ints(o.res.Wrong)
	return o.res
}

// stressRequest is one client: C's request() up to its close.
func stressRequest(server [4]byte, port int, message string, cfg StressConfig, w io.Writer) (string, error) {
	buffer := make([]byte, EchoConfig{BufSize: cfg.BufSize}.bufSize())
	echoserver := sys.NewSockaddrIn(server, port)
	deadline := time.Now().Add(cfg.Timeout)

	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDP)
	if err != nil {
		return "", fmt.Errorf("Failed to create socket: %w", err)
	}
	defer sys.Close(sock)
	if cfg.Timeout > 0 {
		if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, cfg.Timeout); err != nil {
			return "", fmt.Errorf("Failed to set the receive timeout: %w", err)
		}
	}
	sent, err := sys.Sendto(sock, []byte(message), 0, &echoserver)
	if err != nil {
		return "", fmt.Errorf("Mismatch in number of sent bytes: %w", err)
	}
	if sent != len(message) {
		return "", fmt.Errorf("Mismatch in number of sent bytes: %d of %d", sent, len(message))
	}
	for {
		var echoclient sys.SockaddrIn
		clientlen := sys.SizeofSockaddrIn
		received, err := sys.Recvfrom(sock, buffer, unix.MSG_TRUNC, &echoclient, &clientlen)
		if errors.Is(err, unix.EAGAIN) { // SO_RCVTIMEO expired
			return "", fmt.Errorf("%w from %s before the timeout", ErrNoReply, echoserver.String())
		}
		if err != nil {
			return "", fmt.Errorf("Failed to receive message: %w", err)
		}
		if echoclient.Addr == echoserver.Addr && echoclient.Port == echoserver.Port {
			if received > len(buffer) {
				return "", fmt.Errorf("%w: %d bytes, buffer %d", ErrTruncated, received, len(buffer))
			}
			return string(buffer[:received]), nil
		}
		fmt.Fprintf(w, "Ignored a datagram from unexpected %s\n", echoclient.String())
		if cfg.Timeout > 0 { // a stray does not restart the clock
			left := time.Until(deadline)
			if left <= 0 {
				return "", fmt.Errorf("%w from %s before the timeout", ErrNoReply, echoserver.String())
			}
			if err := sys.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_RCVTIMEO, left); err != nil {
				return "", fmt.Errorf("Failed to set the receive timeout: %w", err)
			}
		}
	}
}

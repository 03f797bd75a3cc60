package tcp

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// The tutorial's "slow connection" client (section 6), the Go mirror of
// testdata/slow_client.c (a pthread per connection):
//
//	N times at once: socket -> connect -> for each byte { send 1; sleep } ->
//	                 until all back { recv 1; sleep } -> close -> print
//
// Connection n sends "<word> [n]", so a message spells out which
// connection it belongs to. Against a one-at-a-time server the client
// takes about N times one connection's dribbling time; against a
// concurrent one, about one connection's.
//
// Differences from the Python program, shared with the C twin: a
// connection whose echo is wrong or missing (the server closed, or, with
// Timeout, stayed silent) is reported by number and makes the run fail
// instead of hanging or dying in one thread; when every connection
// failed (no server: connection refused), the run says only that and why
// the first failed (AllFailedError), and the C twin prints no time. From Go: goroutines instead
// of threads, blocking raw sockets (each holds an OS thread while it
// waits in recv); Timeout sets SO_RCVTIMEO and SO_SNDTIMEO, which bounds the
// connect too (as in client.go), off by default.

// SlowConfig configures SlowClient and SlowClientNet.
type SlowConfig struct {
	Clients int           // connections at once; 0 means the tutorial's 20
	Delay   time.Duration // between two bytes; the tutorial sleeps 0.1 s
	Timeout time.Duration // for the connect and each send and recv; 0 waits forever
	Out     io.Writer     // "Received: ..." lines as connections finish; nil discards
}

// DefaultSlowClients and DefaultSlowDelay are the tutorial's 20 and 0.1 s.
const (
	DefaultSlowClients = 20
	DefaultSlowDelay   = 100 * time.Millisecond
)

func (c SlowConfig) clients() int {
	if c.Clients <= 0 {
		return DefaultSlowClients
	}
	return c.Clients
}

// SlowMessage is what connection n of the slow client sends.
func SlowMessage(word string, n int) string { return fmt.Sprintf("%s [%d]", word, n) }

// AllFailedError is the slow client's error when no connection got its
// echo: how many there were and why the first to fail failed.
type AllFailedError struct {
	Clients int
	First   error
}

func (e *AllFailedError) Error() string {
	return fmt.Sprintf("every one of the %d clients failed; first: %v", e.Clients, e.First)
}

func (e *AllFailedError) Unwrap() error { return e.First }

// SlowClient runs the slow client against server:port. It prints each
// "Received: ..." line as its connection finishes and returns an error
// naming every connection whose echo was wrong or missing: an
// errors.Join of one "connection n: ..." error each, or an
// *AllFailedError when every one was.
func SlowClient(server [4]byte, port int, word string, cfg SlowConfig) error {
	return runSlow(word, cfg, func(message string) (string, error) {
		return slowRequest(server, port, message, cfg)
	})
}

// runSlow starts one request a connection and gathers the results.
func runSlow(word string, cfg SlowConfig, request func(message string) (string, error)) error {
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	var mu sync.Mutex
	var failed []error
	var first error // why the first connection to fail failed
	var wg sync.WaitGroup
	for n := range cfg.clients() {
		wg.Go(func() {
			message := SlowMessage(word, n)
			data, err := request(message)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && data != message {
				err = fmt.Errorf("echo %q, want %q", data, message)
			}
			if err == nil {
				fmt.Fprintf(out, "Received: %s\n", data)
				return
			}
			if first == nil {
				first = err
			}
			failed = append(failed, fmt.Errorf("connection %d: %w", n, err))
		})
	}
	wg.Wait()
	if len(failed) == cfg.clients() {
		return &AllFailedError{Clients: len(failed), First: first}
	}
	return errors.Join(failed...)
}

func slowRequest(server [4]byte, port int, message string, cfg SlowConfig) (string, error) {
	echoserver := sys.NewSockaddrIn(server, port)
	sock, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return "", fmt.Errorf("Failed to create socket: %w", err)
	}
	defer sys.Close(sock)
	if err := setIdle(sock, cfg.Timeout); err != nil {
		return "", err
	}
	start := time.Now()
	if err := sys.Connect(sock, &echoserver); err != nil {
		return "", connectFailed(err, cfg.Timeout, time.Since(start))
	}
	for i := range len(message) {
		if _, err := writen(sock, []byte{message[i]}); err != nil {
			return "", fmt.Errorf("Failed to send byte %d: %w", i, err)
		}
		time.Sleep(cfg.Delay)
	}
	data := make([]byte, 0, len(message))
	var c [1]byte
	for len(data) < len(message) {
		n, err := sys.Recv(sock, c[:], 0)
		if err != nil {
			return string(data), fmt.Errorf("Failed to receive byte %d: %w", len(data), err)
		}
		if n == 0 {
			return string(data), fmt.Errorf("%w: %d of %d", ErrShortEcho, len(data), len(message))
		}
		data = append(data, c[0])
		time.Sleep(cfg.Delay)
	}
	return string(data), nil
}

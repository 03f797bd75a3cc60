package udp

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The stress client of the tutorial's section 6 (UDPechoclient2.py): it
// fires Clients requests at once, each from a socket of its own with a
// message of its own ("<word> [n]"), prints each reply as it arrives and
// the total time last. There is no C twin; each request is Request (raw)
// or RequestNet (net), so each client makes the echo client's calls:
// socket, sendto, recvfrom, close.
//
// Additions to the tutorial's client: each reply is checked (it must be
// the client's own message, upper-cased), and with a Timeout a lost reply
// is reported by its client's number instead of hanging the run.

// DefaultClients is the tutorial's number of client threads.
const DefaultClients = 20

// StressConfig configures Stress and StressNet.
type StressConfig struct {
	Clients int           // requests fired at once; DefaultClients when 0
	Timeout time.Duration // how long each client waits for its reply; 0 waits forever, as the tutorial does
	BufSize int           // each client's receive buffer; DefaultBufSize when 0
	Out     io.Writer     // "Received: <reply>" lines, as the replies arrive; nil discards
	Log     io.Writer     // reports of ignored stray datagrams; nil discards
}

// StressResult is what a run saw.
type StressResult struct {
	Elapsed time.Duration // from the first send to the last reply or give-up
	Replies int           // right replies
	Missing []int         // clients that got no reply
	Wrong   []int         // clients whose reply was not their message upper-cased
}

// Err returns nil when every client got its right reply, otherwise an
// error naming the clients that did not.
func (r StressResult) Err() error {
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

// Stress runs the stress client against server:port with the raw client.
func Stress(server [4]byte, port int, word string, cfg StressConfig) StressResult {
	return stress(word, cfg, func(msg string, cc ClientConfig) (string, error) {
		return Request(server, port, msg, cc)
	})
}

// stress fires the clients, each through request, and collects the result.
func stress(word string, cfg StressConfig, request func(string, ClientConfig) (string, error)) StressResult {
	clients := cfg.Clients
	if clients <= 0 {
		clients = DefaultClients
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	cc := ClientConfig{BufSize: cfg.BufSize, Timeout: cfg.Timeout, Log: cfg.Log}
	var (
		mu  sync.Mutex
		res StressResult
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for n := range clients {
		wg.Go(func() {
			msg := StressMessage(word, n)
			<-start // all at once
			got, err := request(msg, cc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				res.Missing = append(res.Missing, n)
				fmt.Fprintf(cc.log(), "[%d]: %v\n", n, err)
			case got != strings.ToUpper(msg):
				res.Wrong = append(res.Wrong, n)
				fmt.Fprintf(out, "Received: %s\n", got)
			default:
				res.Replies++
				fmt.Fprintf(out, "Received: %s\n", got)
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.Elapsed = time.Since(t0)
	sort.Ints(res.Missing)
	sort.Ints(res.Wrong)
	return res
}

func (c ClientConfig) log() io.Writer { return EchoConfig{Log: c.Log}.log() }

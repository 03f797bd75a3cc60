package tcp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Thread-per-connection TCP echo server, the Go mirror of
// testdata/thread.c (pthread_create per connection, detached):
//
//	socket -> bind -> listen(somaxconn) -> loop { accept -> report -> go { str_echo -> close } }
//
// Each connection gets a goroutine that blocks in recv and send on its
// raw, blocking descriptor; a goroutine blocked in a system call holds an
// OS thread, so this is a thread per connection in Go as in C.
//
// Differences from the C twin, from Go itself: goroutines instead of
// pthread_create (strace shows the runtime's own clone calls, not one per
// connection); a done context shuts down the listening socket and every
// connection (C's handler shuts the listening socket down and exit closes
// the connections), and
// ServeThread waits for the goroutines to finish; Config.Log is written
// through one lock; Config.Idle and the reserve descriptor as in
// iterative.go.
//
// Both bound the connections served at once (Config.MaxClients, the C
// twin's max_clients, DefaultMaxThreads by default): a client over it is
// reported, counted and closed at once, since each connection holds a
// thread, and a Go program dies ("thread exhaustion") at 10000.

// DefaultMaxThreads bounds the connections ServeThread serves at once
// when Config.MaxClients is 0: well below the Go runtime's 10000 threads.
const DefaultMaxThreads = 4096

// MaxThreads is the highest Config.MaxClients the command line lets
// ServeThread take: the runtime needs threads of its own below its limit.
const MaxThreads = 9000

// ServeThread serves each connection on its own goroutine until ctx is
// done; then it shuts the connections down, waits for their
// goroutines and returns nil. It does not close listenfd.
func ServeThread(ctx context.Context, listenfd int, cfg Config) error {
	st, release := stopOn(ctx, listenfd)
	defer release()
	cfg.Log = &lockedWriter{w: cfg.log()} // the goroutines report through it too
	log := newLogger(cfg)
	spare := newReserve(blockingAccept)
	defer spare.close()
	var wg sync.WaitGroup
	defer wg.Wait()
	bound := cfg.MaxClients
	if bound <= 0 {
		bound = DefaultMaxThreads
	}
	var live atomic.Int32
	refused := 0
	var echoclient sys.SockaddrIn
	for {
		clientsock, err := spare.accept(listenfd, &echoclient)
		if st.stopped() {
			if err == nil {
				sys.Close(clientsock)
			}
			return nil
		}
		if errors.Is(err, errShed) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Failed to accept client connection: %w", err)
		}
		log.connected(&echoclient)
		if int(live.Load()) >= bound {
			refused++
			fmt.Fprintf(log.w, "Refused client %s: %d threads (--max-clients %d); %d refused so far\n",
				echoclient.String(), bound, bound, refused)
			sys.Close(clientsock)
			continue
		}
		if !st.track(clientsock) {
			sys.Close(clientsock)
			return nil
		}
		client := echoclient
		live.Add(1)
		wg.Add(1)
		go func() { // thread
			defer wg.Done()
			defer live.Add(-1)
			buffer := make([]byte, BufSize)
			err := setIdle(clientsock, cfg.Idle)
			if err == nil {
				err = echo(clientsock, buffer)
			}
			if err != nil && !st.stopped() {
				report(log, &client, err)
			}
			st.closeConn(clientsock)
		}()
	}
}

package tcp

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// The tutorial's select() server, kept fragile on purpose so that a reader
// can see why: the Go mirror of testdata/select_faithful.c and of the
// Python program of section 6.
//
//	socket -> bind -> listen(20) -> loop {
//	    accept exactly N clients (blocking) ->
//	    loop { select(all clients for reading AND writing) ->
//	           5 s without a send: shutdown the readable ones, next round ->
//	           each readable: recv 32 -> each writable with data: send } }
//
// What makes it fragile, all reproduced: nothing is served until N clients
// have connected; every client is in the write set, and a connected
// socket is almost always writable, so select returns at once and the loop
// spins at 100% CPU; a closed client stays in the sets (recv returns 0
// forever); a recv or send error ends the server, as the uncaught Python
// exception does; send is called once and may send less than it read.
//
// Differences from the tutorial, shared with the C twin: the listening
// socket is made once, before the rounds (the Python program binds a new
// one each round, which fails with EADDRINUSE while the last round's
// connections are in TIME_WAIT); a round's sockets are closed when it ends
// (Python drops them for its garbage collector to close); send passes
// MSG_NOSIGNAL. From Go itself: a done context shuts the listening socket and the
// round's connections down, where C gets EINTR from accept or select; the
// shut-down sockets wake select, and the loop sees the stop there.

// FaithfulClients is the tutorial's range(20).
const FaithfulClients = 20

// FaithfulIdle is the tutorial's "time.time() - last_activity > 5".
const FaithfulIdle = 5 * time.Second

// ServeSelectFaithful runs the tutorial's rounds until ctx is done; then
// it closes the round's clients and returns nil. Config.Clients replaces
// the 20 connections a round waits for, Config.Idle the 5 seconds.
func ServeSelectFaithful(ctx context.Context, listenfd int, cfg Config) error {
	st, release := stopOn(ctx, listenfd)
	defer release()
	nclients := cfg.Clients
	if nclients <= 0 {
		nclients = FaithfulClients
	}
	idle := cfg.Idle
	if idle <= 0 {
		idle = FaithfulIdle
	}
	log := newLogger(cfg)
	socks := make([]int, 0, nclients)
	data := make(map[int][]byte, nclients) // data[newsock] = ""
	defer func() {
		for _, s := range socks {
			st.closeConn(s)
		}
	}()
	for {
		socks = socks[:0]
		clear(data)
		for range nclients {
			var echoclient sys.SockaddrIn
			n := sys.SizeofSockaddrIn
			newsock, err := sys.Accept(listenfd, &echoclient, &n)
			if st.stopped() {
				if err == nil {
					sys.Close(newsock)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("Failed to accept client connection: %w", err)
			}
			log.connected(&echoclient)
			if !st.track(newsock) {
				sys.Close(newsock)
				return nil
			}
			socks = append(socks, newsock)
			data[newsock] = make([]byte, 0, BufSize)
		}
		lastActivity := time.Now()
		buffer := make([]byte, BufSize)
		for {
			var rset, wset sys.FdSet // FD_ZERO
			maxfd := 0
			for _, s := range socks {
				if err := rset.Set(s); err != nil {
					return fmt.Errorf("Failed to watch a client: %w", err)
				}
				maxfd = max(maxfd, s)
			}
			wset = rset
			if _, err := sys.Select(maxfd+1, &rset, &wset, nil, -1); err != nil {
				return fmt.Errorf("Failed to select: %w", err)
			}
			if st.stopped() {
				return nil // the stop shut the round's sockets down, which woke select
			}
			if time.Since(lastActivity) > idle {
				for _, s := range socks {
					if rset.IsSet(s) {
						sys.Shutdown(s, unix.SHUT_RDWR) // s.shutdown(2)
					}
				}
				break
			}
			for _, s := range socks {
				if rset.IsSet(s) {
					received, err := sys.Recv(s, buffer, 0)
					if err != nil {
						return fmt.Errorf("Failed to receive bytes from client: %w", err)
					}
					data[s] = append(data[s][:0], buffer[:received]...)
				}
			}
			for _, s := range socks {
				if wset.IsSet(s) && len(data[s]) > 0 {
					lastActivity = time.Now()
					if _, err := sys.Send(s, data[s], unix.MSG_NOSIGNAL); err != nil {
						return fmt.Errorf("Failed to send bytes to client: %w", err)
					}
					data[s] = data[s][:0]
				}
			}
		}
		for _, s := range socks {
			st.closeConn(s)
		}
		socks = socks[:0]
	}
}

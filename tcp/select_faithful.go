package tcp

import (
	"context"
	"errors"
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
// MSG_NOSIGNAL; a descriptor select cannot watch (FD_SETSIZE) ends the
// server; the idle time is a parameter (Config.Idle, the C twin's third
// argument). Both stop the same way between rounds: a done context shuts
// the listening socket down, as the C twin's signal handler does, and
// accept fails. In a round the stop also shuts the round's connections
// down (track, closeConn), where the C twin's select returns EINTR or the
// loop just sees the flag; either way the loop checks for the stop after
// select.

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
	data := new([sys.FD_SETSIZE][BufSize]byte) // by descriptor, as in C
	var datalen [sys.FD_SETSIZE]int
	defer func() { // stopped:
		for _, s := range socks {
			st.closeConn(s)
		}
	}()
	for {
		for len(socks) < nclients {
			var echoclient sys.SockaddrIn
			n := sys.SizeofSockaddrIn
			newsock, err := sys.Accept(listenfd, &echoclient, &n)
			if st.stopped() { // the stop shut the listening socket down
				if err == nil {
					sys.Close(newsock)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("Failed to accept client connection: %w", err)
			}
			if newsock >= sys.FD_SETSIZE {
				sys.Close(newsock)
				return errors.New("Client descriptor beyond FD_SETSIZE")
			}
			log.connected(&echoclient)
			if !st.track(newsock) {
				sys.Close(newsock)
				return nil
			}
			socks = append(socks, newsock)
			datalen[newsock] = 0
		}
		lastActivity := time.Now()
		for {
			var rset, wset sys.FdSet // FD_ZERO
			maxfd := 0
			for _, s := range socks {
				rset.Set(s) // below FD_SETSIZE: checked at accept
				maxfd = max(maxfd, s)
			}
			wset = rset
			if _, err := sys.Select(maxfd+1, &rset, &wset, nil, -1); err != nil {
				return fmt.Errorf("Failed to select: %w", err)
			}
			if st.stopped() {
				return nil
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
					received, err := sys.Recv(s, data[s][:], 0)
					if err != nil {
						return fmt.Errorf("Failed to receive bytes from client: %w", err)
					}
					datalen[s] = received
				}
			}
			for _, s := range socks {
				if wset.IsSet(s) && datalen[s] > 0 {
					lastActivity = time.Now()
					if _, err := sys.Send(s, data[s][:datalen[s]], unix.MSG_NOSIGNAL); err != nil {
						return fmt.Errorf("Failed to send bytes to client: %w", err)
					}
					datalen[s] = 0
				}
			}
		}
		for _, s := range socks {
			st.closeConn(s)
		}
		socks = socks[:0]
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// tcpModes lists the server models --mode takes, and which have a net twin.
var tcpModes = map[string]bool{"iterative": true, "fork": false, "thread": true, "select": false, "poll": false, "epoll": false}

func tcpModeList() string {
	return "iterative, fork, thread, select, poll or epoll"
}

func runTCPEchoServer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-echo-server", "[flags] <port>",
		"The TCP echo server of the tutorial's section 6 in every concurrency model:\n"+
			"listen(20) on INADDR_ANY:<port>, recv 32 bytes at a time, send them all back.\n"+
			"C twins: tcp/testdata/<mode>.c (select --faithful: select_faithful.c).\n"+
			"fork serves each connection in a forked child (fork(2), no exec), at most --max-children.\n"+
			"epoll runs --loops event loops on SO_REUSEPORT sockets of one port.\n"+
			"Port 0 picks a free port and reports it. Stops on SIGINT or SIGTERM.",
		[]string{"socklab tcp-echo-server --mode select 7777", "socklab tcp-echo-server --mode thread --impl net --quiet 0"}, stdout)
	mode := fs.String("mode", "iterative", "server model: "+tcpModeList())
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net; iterative and thread only)")
	quiet := fs.Bool("quiet", false, "do not print \"Client connected\" for each client")
	idle := fs.Duration("idle", 0, "close a connection silent this long (0: never, as the C twins); select --faithful: end a round this long after its last send (0: the tutorial's 5s)")
	faithful := fs.Bool("faithful", false, "select only: the tutorial's fragile version (waits for --clients, spins, quits a round after 5 s idle)")
	clients := fs.Int("clients", tcp.FaithfulClients, "select --faithful only: connections a round waits for")
	maxClients := fs.Int("max-clients", 0, "select only: refuse clients beyond this many (0: up to FD_SETSIZE)")
	maxChildren := fs.Int("max-children", tcp.DefaultMaxChildren, "fork only: children at once; clients beyond are refused, counted on stderr")
	loops := fs.Int("loops", runtime.GOMAXPROCS(0), "epoll only: event loops, each on its own SO_REUSEPORT socket, 1 to 64")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	twin, ok := tcpModes[*mode]
	if !ok {
		return usagef("invalid --mode %q: want %s", *mode, tcpModeList())
	}
	if *impl == "net" && !twin {
		return usagef("--impl net has no --mode %s: the net package's own event loop stands behind --mode thread --impl net", *mode)
	}
	if *faithful && *mode != "select" {
		return usagef("--faithful needs --mode select")
	}
	if *faithful && *impl != "raw" {
		return usagef("--faithful needs --impl raw")
	}
	// A flag that belongs to another model would be silently ignored.
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		need, fits := "", true
		switch f.Name {
		case "max-clients":
			need, fits = "--mode select", *mode == "select"
		case "max-children":
			need, fits = "--mode fork", *mode == "fork"
		case "loops":
			need, fits = "--mode epoll", *mode == "epoll"
		case "clients":
			need, fits = "--mode select --faithful", *mode == "select" && *faithful
		}
		if !fits && misplaced == nil {
			misplaced = usagef("--%s needs %s", f.Name, need)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if *clients < 1 || *clients > 1000 {
		return usagef("invalid --clients %d: want 1 to 1000", *clients)
	}
	if *maxClients < 0 {
		return usagef("invalid --max-clients %d: must not be negative", *maxClients)
	}
	if *maxChildren < 1 {
		return usagef("invalid --max-children %d: want 1 or more", *maxChildren)
	}
	if *loops < 1 || *loops > 64 {
		return usagef("invalid --loops %d: want 1 to 64", *loops)
	}
	if err := checkDuration("idle", *idle); err != nil {
		return err
	}
	port, err := parsePort(pos[0], true)
	if err != nil {
		return err
	}
	cfg := tcp.Config{Log: stderr, Quiet: *quiet, Idle: *idle, MaxClients: *maxClients, MaxChildren: *maxChildren}
	if *faithful {
		cfg.Clients = *clients
	}

	// Caught from here on, so that a signal during setup stops cleanly too.
	sigctx, release := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer release()

	if *impl == "net" {
		l, bound, err := tcp.ListenNet(port)
		if err != nil {
			return err
		}
		defer l.Close()
		announce(stderr, port, bound)
		defer context.AfterFunc(sigctx, func() { l.Close() })()
		if *mode == "thread" {
			return tcp.ServeThreadNet(l, cfg)
		}
		return tcp.ServeIterativeNet(l, cfg)
	}

	var socks []int
	var bound int
	if *mode == "epoll" {
		socks, bound, err = tcp.ListenReusePort(port, *loops)
	} else {
		var sock int
		sock, bound, err = tcp.Listen(port)
		socks = []int{sock}
	}
	if err != nil {
		return err
	}
	for _, sock := range socks {
		defer sys.Close(sock)
	}
	sock := socks[0]
	st, err := tcp.NewStop()
	if err != nil {
		return err
	}
	defer st.Close()
	announce(stderr, port, bound)
	defer context.AfterFunc(sigctx, func() { st.Stop() })()
	switch {
	case *mode == "fork":
		return tcp.ServeFork(sock, st, cfg)
	case *mode == "thread":
		return tcp.ServeThread(sock, st, cfg)
	case *mode == "select" && *faithful:
		return tcp.ServeSelectFaithful(sock, st, cfg)
	case *mode == "select":
		return tcp.ServeSelect(sock, st, cfg)
	case *mode == "poll":
		return tcp.ServePoll(sock, st, cfg)
	case *mode == "epoll":
		return tcp.ServeEpoll(socks, st, cfg)
	}
	return tcp.ServeIterative(sock, st, cfg)
}

func runTCPEchoClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-echo-client", "[flags] <server_ip> <word> <port>",
		"The TCP echo client: connect, send the word, recv until as many bytes came back,\n"+
			"print them. C twin: tcp/testdata/client.c. The raw client takes a dotted-quad\n"+
			"address only, as C does; the net twin also resolves names. Exit 1 if the echo differs.",
		[]string{"socklab tcp-echo-client 127.0.0.1 hello 7777", "socklab tcp-echo-client --impl net --timeout 2s localhost hello 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	timeout := fs.Duration("timeout", 0, "give up on a send or recv after this long (SO_RCVTIMEO/SO_SNDTIMEO); 0 waits forever, as C does")
	pos, err := parse(fs, args, 3)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	port, err := parsePort(pos[2], false)
	if err != nil {
		return err
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	word := pos[1]
	cfg := tcp.ClientConfig{Timeout: *timeout}
	var reply string
	if *impl == "net" {
		reply, err = tcp.RequestNet(pos[0], port, word, cfg)
	} else {
		addr, perr := sys.InetAddr(pos[0])
		if perr != nil {
			return usagef("invalid server_ip %q: the raw client takes a dotted-quad IPv4 address and does no name lookup (--impl net resolves names)", pos[0])
		}
		reply, err = tcp.Request(addr, port, word, cfg)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Received: %s\n", reply)
	if reply != word {
		return errors.New("Reply differs from the word sent")
	}
	return nil
}

func runTCPSlowClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-slow-client", "[flags] <server> <word> <port>",
		"The tutorial's slow client (section 6): --clients connections at once, each\n"+
			"sending \"<word> [n]\" one byte every --delay, then reading the echo one byte\n"+
			"every --delay. Prints each echo and the elapsed time. C twin:\n"+
			"tcp/testdata/slow_client.c. Exit 1 naming any connection whose echo was wrong or missing.",
		[]string{"socklab tcp-slow-client 127.0.0.1 \"Hello world\" 7777", "socklab tcp-slow-client --clients 5 --delay 10ms 127.0.0.1 hi 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	clients := fs.Int("clients", tcp.DefaultSlowClients, "connections at once, 1 to 1000")
	delay := fs.Duration("delay", tcp.DefaultSlowDelay, "pause after each byte sent or received")
	timeout := fs.Duration("timeout", 0, "give up on a connection's send or recv after this long; 0 waits forever")
	pos, err := parse(fs, args, 3)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	if *clients < 1 || *clients > 1000 {
		return usagef("invalid --clients %d: want 1 to 1000", *clients)
	}
	if err := checkDuration("delay", *delay); err != nil {
		return err
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	port, err := parsePort(pos[2], false)
	if err != nil {
		return err
	}
	cfg := tcp.SlowConfig{Clients: *clients, Delay: *delay, Timeout: *timeout, Out: stdout}
	start := time.Now()
	if *impl == "net" {
		err = tcp.SlowClientNet(pos[0], port, pos[1], cfg)
	} else {
		addr, perr := sys.InetAddr(pos[0])
		if perr != nil {
			return usagef("invalid server %q: the raw client takes a dotted-quad IPv4 address and does no name lookup (--impl net resolves names)", pos[0])
		}
		err = tcp.SlowClient(addr, port, pos[1], cfg)
	}
	fmt.Fprintf(stdout, "%.2f seconds\n", time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	var lines []string // one perror line a failed connection, joined
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			lines = append(lines, perror(e))
		}
	} else {
		lines = append(lines, perror(err))
	}
	return errors.New(strings.Join(lines, "; "))
}

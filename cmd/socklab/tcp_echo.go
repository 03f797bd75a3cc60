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
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// tcpModeList names the models --mode takes, from tcp.Models.
func tcpModeList() string {
	modes := tcp.Modes()
	return strings.Join(modes[:len(modes)-1], ", ") + " or " + modes[len(modes)-1]
}

func runTCPEchoServer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-echo-server", "[flags] <port>",
		"The TCP echo server of the tutorial's section 6 in every concurrency model:\n"+
			"listen on INADDR_ANY:<port>, recv 32 bytes at a time, send them all back.\n"+
			"iterative and select --faithful keep the tutorial's listen(20); the models built\n"+
			"to scale listen with the kernel's net.core.somaxconn, as Go's net does, since a\n"+
			"burst overflows 20 at once and each dropped handshake costs its client 1 s or more.\n"+
			"C twins: tcp/testdata/<mode>.c (select --faithful: select_faithful.c).\n"+
			"fork serves each connection in a forked child (fork(2), no exec), at most --max-children.\n"+
			"epoll runs --loops event loops on SO_REUSEPORT sockets of one port.\n"+
			"Port 0 picks a free port and reports it. Stops on SIGINT, SIGTERM or SIGHUP.",
		[]string{"socklab tcp-echo-server --mode select 7777", "socklab tcp-echo-server --mode thread --impl net --quiet 0"}, stdout)
	mode := fs.String("mode", "iterative", "server model: "+tcpModeList())
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net; iterative and thread only)")
	quiet := fs.Bool("quiet", false, "do not print \"Client connected\" for each client")
	idle := fs.Duration("idle", 0, "close a connection silent this long (0: never, as the C twins); select --faithful: end a round this long after its last send (0: the tutorial's 5s)")
	faithful := fs.Bool("faithful", false, "select only: the tutorial's fragile version (waits for --clients, spins, quits a round after 5 s idle)")
	clients := fs.Int("clients", tcp.FaithfulClients, "select --faithful only: connections a round waits for")
	maxClients := fs.Int("max-clients", 0, fmt.Sprintf("select (not --faithful) and thread only: refuse clients beyond this many at once (0: select up to FD_SETSIZE, thread %d)", tcp.DefaultMaxThreads))
	maxChildren := fs.Int("max-children", tcp.DefaultMaxChildren, "fork only: children at once; clients beyond are refused, counted on stderr")
	backlog := fs.Int("backlog", 0, fmt.Sprintf("listen backlog, 1 to 65535 (0: 20 for iterative and select --faithful, else somaxconn, now %d)", tcp.Somaxconn()))
	loops := fs.Int("loops", runtime.GOMAXPROCS(0), "epoll only: event loops, each on its own SO_REUSEPORT socket, 1 to 64")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	if !contains(tcp.Modes(), *mode) {
		return usagef("invalid --mode %q: want %s", *mode, tcpModeList())
	}
	if *faithful && *mode != "select" {
		return usagef("--faithful needs --mode select")
	}
	model, _ := tcp.Lookup(*mode, *faithful)
	if *impl == "net" && !model.HasNet() {
		if *faithful {
			return usagef("--faithful needs --impl raw")
		}
		return usagef("--impl net has no --mode %s: the net package's own event loop stands behind --mode thread --impl net", *mode)
	}
	// A flag that belongs to another model would be silently ignored.
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
		if misplaced != nil || contains(model.Flags, f.Name) {
			return
		}
		var needs []string
		for _, m := range tcp.Models {
			if contains(m.Flags, f.Name) {
				if *faithful && m.Mode == *mode && !m.Faithful { // --mode select already
					misplaced = usagef("--%s is not for --faithful: the tutorial's select server has no such bound, it waits for --clients a round and stops at FD_SETSIZE", f.Name)
					return
				}
				need := "--mode " + m.Mode
				if m.Faithful {
					need += " --faithful"
				}
				needs = append(needs, need)
			}
		}
		if len(needs) > 0 {
			misplaced = usagef("--%s needs %s", f.Name, strings.Join(needs, " or "))
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if *clients < 1 || *clients > 1000 {
		return usagef("invalid --clients %d: want 1 to 1000", *clients)
	}
	switch {
	case *maxClients < 0:
		return usagef("invalid --max-clients %d: must not be negative", *maxClients)
	case *mode == "select" && *maxClients > sys.FD_SETSIZE:
		return usagef("invalid --max-clients %d: select watches descriptors below FD_SETSIZE, at most %d", *maxClients, sys.FD_SETSIZE)
	case *mode == "thread" && *maxClients > tcp.MaxThreads:
		return usagef("invalid --max-clients %d: a thread a connection, and Go allows 10000 threads; at most %d", *maxClients, tcp.MaxThreads)
	case *mode == "thread" && *maxClients > 0 && *impl == "net":
		return usagef("--max-clients needs --impl raw: the net twin holds no thread a connection")
	}
	if *maxChildren < 1 {
		return usagef("invalid --max-children %d: want 1 or more", *maxChildren)
	}
	if *backlog < 0 || *backlog > 65535 {
		return usagef("invalid --backlog %d: want 1 to 65535, or 0 for the model's default", *backlog)
	}
	if *backlog != 0 && *impl == "net" {
		return usagef("--backlog needs --impl raw: package net listens with the kernel's somaxconn")
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
	sigctx, release := signal.NotifyContext(context.Background(), stopSignals...)
	defer release()

	if *impl == "net" {
		l, bound, err := tcp.ListenNet(port)
		if err != nil {
			return err
		}
		defer l.Close()
		announce(stderr, port, bound)
		return model.ServeNet(sigctx, l, cfg)
	}
	socks, bound, err := model.Listen(port, *loops, *backlog)
	if err != nil {
		return err
	}
	for _, sock := range socks {
		defer sys.Close(sock)
	}
	announce(stderr, port, bound)
	return model.Serve(sigctx, socks, cfg)
}

func runTCPEchoClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-echo-client", "[flags] <server_ip> <word> <port>",
		"The TCP echo client: connect, send the word, recv until as many bytes came back,\n"+
			"print them. C twin: tcp/testdata/client.c. The raw client takes a dotted-quad\n"+
			"address only, as C does; the net twin also resolves names. Exit 1 if the echo differs.",
		[]string{"socklab tcp-echo-client 127.0.0.1 hello 7777", "socklab tcp-echo-client --impl net --timeout 2s localhost hello 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	timeout := fs.Duration("timeout", 0, "give up on the connect, a send or a recv after this long (SO_SNDTIMEO/SO_RCVTIMEO); 0 waits forever, as C does")
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
		addr, aerr := rawAddr("server_ip", pos[0])
		if aerr != nil {
			return aerr
		}
		reply, err = tcp.Request(addr, port, word, cfg)
	}
	if err != nil {
		return err
	}
	return printEcho(stdout, reply, word)
}

func runTCPSlowClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tcp-slow-client", "[flags] <server> <word> <port>",
		"The tutorial's slow client (section 6): --clients connections at once, each\n"+
			"sending \"<word> [n]\" one byte every --delay, then reading the echo one byte\n"+
			"every --delay. Prints each echo and the elapsed time. C twin:\n"+
			"tcp/testdata/slow_client.c. Exit 1 naming any connection whose echo was wrong or missing;\n"+
			"when every one was, one line says so and why the first failed, and no time is printed.",
		[]string{"socklab tcp-slow-client 127.0.0.1 \"Hello world\" 7777", "socklab tcp-slow-client --clients 5 --delay 10ms 127.0.0.1 hi 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	clients := fs.Int("clients", tcp.DefaultSlowClients, "connections at once, 1 to 1000")
	delay := fs.Duration("delay", tcp.DefaultSlowDelay, "pause after each byte sent or received")
	timeout := fs.Duration("timeout", 0, "give up on a connection's connect, send or recv after this long; 0 waits forever")
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
		addr, aerr := rawAddr("server", pos[0])
		if aerr != nil {
			return aerr
		}
		err = tcp.SlowClient(addr, port, pos[1], cfg)
	}
	var all *tcp.AllFailedError
	if errors.As(err, &all) {
		return err // nothing was timed
	}
	fmt.Fprintf(stdout, "%.2f seconds\n", time.Since(start).Seconds())
	return err // perror gives each failed connection its part of the line
}

package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

func runUDPEchoServer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("udp-echo-server", "[flags] <port>",
		"The UDP echo server of the tutorial's section 5: bind INADDR_ANY:<port>, then\n"+
			"recvfrom and sendto each datagram back. C twin: udp/testdata/echo_server.c.\n"+
			"Port 0 picks a free port and reports it. Stops on SIGINT, SIGTERM or SIGHUP.\n"+
			"The loop guard refuses what could start an echo loop between two servers\n"+
			"(CVE-1999-0103): a datagram from a reserved port, from the server's own port\n"+
			"or from a broadcast or multicast source; --rate bounds the rest.",
		[]string{"socklab udp-echo-server 7777", "socklab udp-echo-server --impl net --quiet 0"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	bufsize := fs.Int("bufsize", udp.DefaultBufSize, fmt.Sprintf("receive buffer in bytes, 1 to %d", udp.MaxBufSize))
	batch := fs.Int("batch", 0, fmt.Sprintf("raw only: recvmmsg/sendmmsg, up to N datagrams a call (1 to %d)", udp.MaxBatch))
	quiet := fs.Bool("quiet", false, "do not print \"Client connected\" for each datagram")
	loopGuard := guardFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	guard, err := loopGuard()
	if err != nil {
		return err
	}
	port, err := parsePort(pos[0], true)
	if err != nil {
		return err
	}
	if *bufsize < 1 || *bufsize > udp.MaxBufSize {
		return usagef("invalid --bufsize %d: want 1 to %d", *bufsize, udp.MaxBufSize)
	}
	if *batch < 0 || *batch > udp.MaxBatch {
		return usagef("invalid --batch %d: want 1 to %d", *batch, udp.MaxBatch)
	}
	if *batch > 0 && *impl != "raw" {
		return usagef("--batch needs --impl raw: it is the recvmmsg/sendmmsg variant of the raw server")
	}
	cfg := udp.EchoConfig{BufSize: *bufsize, Batch: *batch, Log: stderr, Quiet: *quiet, Guard: guard}

	// Caught from here on, so that a signal during setup stops cleanly too.
	sigctx, release := signal.NotifyContext(context.Background(), stopSignals...)
	defer release()
	cfg.Done = sigctx.Done() // the loop ends after the datagram in hand

	if *impl == "net" {
		conn, bound, err := udp.ListenNet(port)
		if err != nil {
			return err
		}
		defer conn.Close()
		announce(stderr, port, bound)
		cfg.Guard.Port = bound
		defer context.AfterFunc(sigctx, func() { conn.Close() })()
		return udp.EchoNet(conn, cfg)
	}

	sock, bound, err := udp.Listen(port)
	if err != nil {
		return err
	}
	defer sys.Close(sock)
	announce(stderr, port, bound)
	cfg.Guard.Port = bound
	defer context.AfterFunc(sigctx, func() { udp.Stop(sock) })()
	if *batch > 0 {
		return udp.EchoBatch(sock, cfg)
	}
	return udp.Echo(sock, cfg)
}

func runUDPEchoClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("udp-echo-client", "[flags] <server_ip> <word> <port>",
		"The UDP echo client of the tutorial's section 4: sendto the word, recvfrom the\n"+
			"reply, check it came from the server, print it. C twin: udp/testdata/echo_client.c.\n"+
			"The raw client takes a dotted-quad address only, as C does; the net twin also\n"+
			"resolves names, as the tutorial's Python client does. Exit 1 if the reply differs.",
		[]string{"socklab udp-echo-client 127.0.0.1 hello 7777", "socklab udp-echo-client --timeout 300ms --retries 2 127.0.0.1 hello 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	bufsize := fs.Int("bufsize", udp.DefaultBufSize, fmt.Sprintf("receive buffer in bytes, 1 to %d", udp.MaxBufSize))
	timeout := fs.Duration("timeout", 0, "wait this long for each reply (SO_RCVTIMEO); 0 waits forever, as C does")
	retries := fs.Int("retries", 0, "send again this many times after a timeout, 0 to 100 (needs --timeout)")
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
	if *bufsize < 1 || *bufsize > udp.MaxBufSize {
		return usagef("invalid --bufsize %d: want 1 to %d", *bufsize, udp.MaxBufSize)
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	if *retries < 0 || *retries > 100 {
		return usagef("invalid --retries %d: want 0 to 100", *retries)
	}
	if *retries > 0 && *timeout == 0 {
		return usagef("--retries needs --timeout: without a timeout the client waits forever for the first reply")
	}
	word := pos[1]
	if len(word) > udp.MaxBufSize {
		return usagef("word of %d bytes: a UDP datagram over IPv4 holds at most %d", len(word), udp.MaxBufSize)
	}
	cfg := udp.ClientConfig{BufSize: *bufsize, Timeout: *timeout, Retries: *retries, Log: stderr}

	var reply string
	if *impl == "net" {
		reply, err = udp.RequestNet(pos[0], port, word, cfg)
	} else {
		addr, aerr := rawAddr("server_ip", pos[0])
		if aerr != nil {
			return aerr
		}
		reply, err = udp.Request(addr, port, word, cfg)
	}
	if err != nil {
		return err
	}
	return printEcho(stdout, reply, word)
}

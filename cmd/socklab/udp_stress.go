package main

import (
	"fmt"
	"io"

	"github.com/socklab/socklab/udp"
)

func runUDPStressClient(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("udp-stress-client", "[flags] <server> <word> <port>",
		"The threaded stress client of the tutorial's section 6 (UDPechoclient2.py): fires\n"+
			"--clients requests at once, each from its own socket with its own message\n"+
			"\"<word> [n]\", prints \"Received: ...\" for each reply as it arrives and the total\n"+
			"time last. Exit 1, naming the clients, if a reply is lost (needs --timeout) or is\n"+
			"not the client's message upper-cased; when every one is, one line says so and why\n"+
			"the first failed, and no time is printed. The raw client takes a dotted quad; the net\n"+
			"one also resolves names. Run it against socklab udp-lengthy-server. C twin:\n"+
			"udp/testdata/stress_client.c (<server_ip> <word> <port> [clients [timeout_ms]]).",
		[]string{"socklab udp-stress-client 127.0.0.1 \"Hello world\" 7777", "socklab udp-stress-client --clients 50 --timeout 10s 127.0.0.1 hi 7777"}, stdout)
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net)")
	clients := fs.Int("clients", udp.DefaultClients, "requests fired at once, 1 to 10000")
	timeout := fs.Duration("timeout", 0, "how long each client waits for its reply; 0 waits forever, as the tutorial's client does")
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
	if *clients < 1 || *clients > 10000 {
		return usagef("invalid --clients %d: want 1 to 10000", *clients)
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	word := pos[1]
	if len(udp.StressMessage(word, *clients-1)) > udp.DefaultBufSize {
		return usagef("word of %d bytes: with \" [n]\" each message must fit the server's %d-byte buffer", len(word), udp.DefaultBufSize)
	}
	cfg := udp.StressConfig{Clients: *clients, Timeout: *timeout, Out: stdout, Log: stderr}
	var res udp.StressResult
	if *impl == "net" {
		res = udp.StressNet(pos[0], port, word, cfg)
	} else {
		addr, aerr := rawAddr("server", pos[0])
		if aerr != nil {
			return aerr
		}
		res = udp.Stress(addr, port, word, cfg)
	}
	if res.Replies == 0 {
		return res.Err() // every client failed: nothing was timed
	}
	fmt.Fprintf(stdout, "%.2f seconds\n", res.Elapsed.Seconds())
	return res.Err()
}

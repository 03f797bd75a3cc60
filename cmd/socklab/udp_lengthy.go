package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// lengthyChildCommand re-runs this binary in a child role (fork-exec,
// prefork); the server appends the role and its facts, which run
// dispatches to runLengthyRole before any command.
var lengthyChildCommand = []string{"/proc/self/exe"}

func runUDPLengthyServer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("udp-lengthy-server", "[flags] <port>",
		"The lengthy-action server of the tutorial's section 6: each request takes --delay\n"+
			"(the tutorial's sleep(5)), then the message comes back upper-cased, served in\n"+
			"one of the concurrency models of --mode:\n"+
			"  iterative  one at a time (udp/testdata/lengthy_iterative.c)\n"+
			"  thread     a goroutine per request (lengthy_thread.c, pthreads); --impl net too\n"+
			"  fork       a real fork(2) per request, no exec (lengthy_fork.c)\n"+
			"  fork-exec  re-exec this program per request, the socket as fd 3 (lengthy_forkexec.c)\n"+
			"  async      one thread: epoll and a timerfd per request (lengthy_async.c)\n"+
			"  prefork    --workers processes blocking in recvfrom on the shared socket (lengthy_prefork.c)\n"+
			"Port 0 picks a free port and reports it. On SIGINT, SIGTERM or SIGHUP the server\n"+
			"stops receiving, lets the requests in progress reply, reaps its children and\n"+
			"exits 0. The loop guard is udp-echo-server's (see its --help).",
		[]string{"socklab udp-lengthy-server --mode fork 7777", "socklab udp-lengthy-server --mode async --delay 200ms 0"}, stdout)
	mode := fs.String("mode", "iterative", "concurrency model: "+strings.Join(udp.Modes, ", "))
	impl := fs.String("impl", "raw", "raw (package sys) or net (package net, --mode thread only)")
	delay := fs.String("delay", udp.DefaultDelay.String(), "how long each request takes (a Go duration: 5s, 200ms)")
	maxChildren := fs.Int("max-children", udp.DefaultMaxChildren, "thread, fork, fork-exec, async: requests in progress at once; more are dropped and counted")
	workers := fs.Int("workers", udp.DefaultWorkers, fmt.Sprintf("prefork: worker processes, 1 to %d", udp.MaxWorkers))
	bufsize := fs.Int("bufsize", udp.DefaultBufSize, fmt.Sprintf("receive buffer in bytes, 1 to %d", udp.MaxBufSize))
	quiet := fs.Bool("quiet", false, "do not print \"Client connected\" for each request")
	loopGuard := guardFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	guard, err := loopGuard()
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !validMode(*mode) {
		return usagef("invalid --mode %q: want one of %s", *mode, strings.Join(udp.Modes, ", "))
	}
	if err := checkImpl(*impl); err != nil {
		return err
	}
	if *impl == "net" && *mode != "thread" {
		return usagef("--impl net exists for --mode thread only")
	}
	d, err := time.ParseDuration(*delay)
	if err != nil {
		return usagef("invalid --delay %q: want a duration such as 5s or 200ms", *delay)
	}
	if err := checkDuration("delay", d); err != nil {
		return err
	}
	port, err := parsePort(pos[0], true)
	if err != nil {
		return err
	}
	if *maxChildren < 1 {
		return usagef("invalid --max-children %d: want 1 or more", *maxChildren)
	}
	if set["max-children"] && (*mode == "iterative" || *mode == "prefork") {
		return usagef("--max-children is for the thread, fork, fork-exec and async modes")
	}
	if *workers < 1 || *workers > udp.MaxWorkers {
		return usagef("invalid --workers %d: want 1 to %d", *workers, udp.MaxWorkers)
	}
	if set["workers"] && *mode != "prefork" {
		return usagef("--workers is for --mode prefork")
	}
	if *bufsize < 1 || *bufsize > udp.MaxBufSize {
		return usagef("invalid --bufsize %d: want 1 to %d", *bufsize, udp.MaxBufSize)
	}
	cfg := udp.LengthyConfig{Delay: d, BufSize: *bufsize, MaxChildren: *maxChildren, Workers: *workers,
		Command: lengthyChildCommand, Log: stderr, Quiet: *quiet, Guard: guard}

	// Caught from here on, so that a signal during setup stops cleanly too.
	sigctx, release := signal.NotifyContext(context.Background(), stopSignals...)
	defer release()
	cfg.Done = sigctx.Done() // the loop ends after the request in hand

	if *impl == "net" {
		conn, bound, err := udp.ListenNet(port)
		if err != nil {
			return err
		}
		defer conn.Close()
		announce(stderr, port, bound)
		cfg.Guard.Port = bound
		defer context.AfterFunc(sigctx, func() { udp.StopLengthyNet(conn) })()
		return udp.ServeThreadNet(conn, cfg)
	}

	sock, bound, err := udp.Listen(port)
	if err != nil {
		return err
	}
	defer sys.Close(sock)
	announce(stderr, port, bound)
	cfg.Guard.Port = bound
	defer context.AfterFunc(sigctx, func() { udp.Stop(sock) })()
	serve := map[string]func(int, udp.LengthyConfig) error{
		"iterative": udp.ServeIterative, "thread": udp.ServeThread, "fork": udp.ServeFork,
		"fork-exec": udp.ServeForkExec, "async": udp.ServeAsync, "prefork": udp.ServePrefork,
	}[*mode]
	return serve(sock, cfg)
}

func validMode(m string) bool {
	for _, v := range udp.Modes {
		if m == v {
			return true
		}
	}
	return false
}

// runLengthyRole plays the role of a re-exec'd fork-exec child
// (udp.RoleChild) or prefork worker (udp.RoleWorker) on the socket the
// server left as its fd 3, and returns the exit status: 2 for arguments or
// a descriptor that no server would have given it, 1 for a failure while
// serving. A child ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C at the
// terminal, which reaches the whole process group, must not cut its
// request short. A worker takes them for the end of its loop, after the
// request in progress (udp.LengthyConfig.Done): the server forwards its
// own stop so, and shuts the socket down to wake the workers' recvfrom.
func runLengthyRole(role string, args []string, stderr io.Writer) int {
	var err error
	if role == udp.RoleChild {
		signal.Ignore(stopSignals...)
		delay, client, request, perr := udp.ParseChildArgs(args)
		if err = childSocket(perr); err == nil {
			err = udp.ServeRequest(udp.ChildFD, request, &client, delay)
		}
	} else {
		sigctx, release := signal.NotifyContext(context.Background(), stopSignals...)
		defer release()
		cfg, perr := udp.ParseWorkerArgs(args)
		if err = childSocket(perr); err == nil {
			cfg.Log, cfg.Done = stderr, sigctx.Done()
			err = udp.ServeIterative(udp.ChildFD, cfg)
		}
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "socklab %s: %s (a role of udp-lengthy-server --mode fork-exec or prefork, not a command)\n", role, ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, perror(err))
		return 1
	}
}

// childSocket turns a mistake in a role's arguments into a usage error,
// and checks, when there is none, that the role has a socket to serve on:
// ChildFD, which a shell that runs the role by hand does not give it.
func childSocket(argsErr error) error {
	if argsErr != nil {
		return usagef("%v", argsErr)
	}
	fi, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", udp.ChildFD))
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return usagef("descriptor %d is not the server's socket", udp.ChildFD)
	}
	return nil
}

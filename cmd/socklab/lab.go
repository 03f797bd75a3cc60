package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/lab"
)

func runLab(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lab", "[flags]",
		"Reproduces the tutorial's experiments on loopback, every server on a port the kernel picks,\n"+
			"and prints one table per experiment:\n"+
			"  E0  the UDP echo pair (sections 3-5): every client against every server, and each\n"+
			"      client's system calls (with strace, when installed)\n"+
			"  E1  UDP lengthy action: the stress client against every udp-lengthy-server mode;\n"+
			"      completion time over the physical limit (the delay), beside the tutorial's\n"+
			"  E2  TCP slow clients against every tcp-echo-server model; time over one client's\n"+
			"      own dribble time, beside the tutorial's\n"+
			"  E3  K idle connections plus one ping-pong, for select, poll, epoll and net:\n"+
			"      the active client's latency p50/p99 against K\n"+
			"  E4  echo throughput (socklab bench) of the raw, net and C servers\n"+
			"By default the tutorial's delays are scaled by --scale so that the whole run takes\n"+
			"well under a minute; --faithful uses its own numbers (minutes). --out DIR writes\n"+
			"report.md, results.json and SVG plots. Ctrl-C stops every server, prints what is\n"+
			"done and exits 1, as a failed experiment does.",
		[]string{"socklab lab", "socklab lab --only E1,E3 --out /tmp/lab", "socklab lab --faithful --only E1"}, stdout)
	word := fs.String("word", "Hello world", "what the clients send")
	timeout := fs.Duration("timeout", 5*time.Second, "E0: bound on each request and each traced run")
	only := fs.String("only", "", "comma-separated experiments to run: "+strings.Join(lab.Names(), ","))
	scale := fs.Float64("scale", lab.DefaultScale, "E1, E2: the tutorial's delays (5 s, 0.1 s) times this, 0 < scale <= 1")
	faithful := fs.Bool("faithful", false, "the tutorial's own numbers: 5 s lengthy action, 0.1 s dribble, 20 clients (takes minutes)")
	clients := fs.Int("clients", lab.TutorialClients, "E1, E2: requests or connections at once, 1 to 200")
	ks := fs.String("k", "10,100,1000,5000", "E3: idle-connection counts")
	duration := fs.Duration("duration", 0, "E3: measuring time per point, E4: per server (default 500ms, --faithful 2s)")
	out := fs.String("out", "", "write report.md, results.json and SVG plots into this directory")
	src := fs.String("src", "", "E4: the socklab checkout holding the C twins (found when run from it)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	if *timeout == 0 {
		return usagef("invalid --timeout 0: the lab bounds every run; give a positive duration")
	}
	var names []string
	if *only != "" {
		var err error
		if names, err = lab.CheckOnly(strings.Split(*only, ",")); err != nil {
			return usagef("invalid --only: %v", err)
		}
	}
	if *faithful && set["scale"] {
		return usagef("--faithful runs at scale 1; leave out --scale")
	}
	if !(*scale > 0 && *scale <= 1) {
		return usagef("invalid --scale %g: want 0 < scale <= 1", *scale)
	}
	if *clients < 1 || *clients > 200 {
		return usagef("invalid --clients %d: want 1 to 200", *clients)
	}
	if *word == "" || strings.ContainsAny(*word, "\x00\n") || len(*word) > 200 {
		return usagef("invalid --word %q: want 1 to 200 bytes on one line", *word)
	}
	if err := checkDuration("duration", *duration); err != nil {
		return err
	}
	var kList []int
	for _, f := range strings.Split(*ks, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 || k > 100000 {
			return usagef("invalid --k %q: want counts from 1 to 100000, comma-separated", *ks)
		}
		kList = append(kList, k)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the socklab binary: %w", err)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("Failed to create the report directory: %w", err)
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), stopSignals...)
	defer cancel()
	cfg := lab.Config{Self: self, Only: names, Scale: *scale, Faithful: *faithful, Clients: *clients,
		Ks: kList, Duration: *duration, Word: *word, Timeout: *timeout, Src: *src, Out: stdout,
		Progress: lab.NewProgress(stderr, isTerminal(stderr))}
	res, err := lab.Run(ctx, cfg)
	if res != nil {
		fmt.Fprintf(stdout, "%d experiment(s) in %.1f s\n", len(res.Ran), res.Elapsed)
		if *out != "" {
			if werr := lab.WriteReport(*out, res); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Fprintf(stdout, "wrote %s/report.md, results.json and the plots\n", *out)
			}
		}
	}
	if errors.Is(err, lab.ErrInterrupted) {
		return errors.New("Interrupted: every server stopped; the tables above are what was done")
	}
	return err
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

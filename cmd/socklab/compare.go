package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
	"github.com/socklab/socklab/udp"
)

// twinSpec is one program (and mode) that compare can trace: how to run
// the raw program, its net twin and its C twin, and what runs beside them.
type twinSpec struct {
	program, mode string
	server        bool     // traced as a server, asked by compare's own client
	tcp           bool     // TCP, else UDP
	raw           []string // socklab arguments before the positional ones
	rawFile       string
	net           []string // nil: no net twin
	netFile       string
	csrc          string   // C twin, relative to the module root; "" for none
	cflags        []string // extra compiler flags (-pthread)
	cargs         []string // C arguments after the positional ones
	threaded      bool     // a thread per connection or request: see strace.Serialize
	upper         bool     // a UDP client that compare's server answers upper-cased (startCompareServer)
	faithful      bool     // tcp-echo-server --mode select --faithful
	spins         bool     // a busy loop: strace.Collapse folds its rounds, in every column
	loopNote      string   // why it spins, printed under its loops
	idle          []string // servers: the system calls they block in between requests
	netIdle       []string
	workers       int // servers whose workers block in idle, not the program: how many; each is asked once
}

const compareDelay = 50 * time.Millisecond

// compareFaithfulIdle ends a round of the faithful select server that
// compare traces (the tutorial's 5 s): long enough for the loop to spin
// thousands of times, short enough to trace it three times in a test.
const compareFaithfulIdle = 500 * time.Millisecond

// comparePrograms are the programs compare knows. lengthyCompareModes are
// the udp-lengthy-server modes, each with a C twin.
var (
	comparePrograms     = []string{"udp-echo-client", "udp-echo-server", "tcp-echo-client", "tcp-echo-server", "udp-lengthy-server", "udp-stress-client", "tcp-slow-client"}
	lengthyCompareModes = []string{"iterative", "thread", "fork", "fork-exec", "async", "prefork"}
)

// compareWorkers is how many workers compare's prefork server starts: a
// few, so that the trace stays readable; compare asks each once.
const compareWorkers = 2

// compareTargets is every program and flag set compare traces with a C
// twin: what the tests prove, three runs each.
func compareTargets() [][]string {
	out := [][]string{{"udp-echo-client"}, {"udp-echo-server"}, {"udp-echo-server", "--batch", "8"}}
	for _, m := range lengthyCompareModes {
		out = append(out, []string{"udp-lengthy-server", "--mode", m})
	}
	out = append(out, []string{"udp-stress-client"}, []string{"tcp-echo-client"}, []string{"tcp-slow-client"})
	for _, m := range tcpCompareModes() {
		out = append(out, []string{"tcp-echo-server", "--mode", m})
	}
	return append(out, []string{"tcp-echo-server", "--mode", "select", "--faithful"})
}

// programFlags are the flags of the traced program that compare takes
// after its name: the ones that choose which code runs, and so which C
// twin it is compared with.
type programFlags struct {
	mode     string
	faithful bool // tcp-echo-server --mode select: the tutorial's fragile version
	batch    int  // udp-echo-server: recvmmsg/sendmmsg
	clients  int  // tcp-slow-client, udp-stress-client: connections or requests at once
}

// compareSlowClients is how many connections compare's slow client makes,
// and requests its stress client, by default: enough to show a thread
// each, few enough to read.
const compareSlowClients = 2

// parseProgramFlags reads the flags given after the program's name; each
// program takes only those that choose its code.
// compare's own flags (own) may come there too.
func parseProgramFlags(program string, args []string, mode string, own *cmdFlags) (programFlags, error) {
	pf := programFlags{mode: mode}
	fs := newFlags("compare "+program, "[flags]", "", nil, io.Discard)
	fs.help = own.help
	own.VisitAll(func(f *flag.Flag) {
		if f.Name != "mode" {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	fs.BoolVar(&pf.faithful, "faithful", false, "tcp-echo-server --mode select: the tutorial's fragile version")
	var names []string
	switch program {
	case "tcp-echo-server", "udp-lengthy-server":
		fs.StringVar(&pf.mode, "mode", mode, "server model")
		names = append(names, "--mode")
		if program == "tcp-echo-server" {
			names = append(names, "--faithful")
		}
	case "udp-echo-server":
		fs.IntVar(&pf.batch, "batch", 0, "recvmmsg/sendmmsg batch")
		names = append(names, "--batch")
	case "tcp-slow-client":
		fs.IntVar(&pf.clients, "clients", compareSlowClients, "connections at once")
		names = append(names, "--clients")
	case "udp-stress-client":
		fs.IntVar(&pf.clients, "clients", compareSlowClients, "requests at once")
		names = append(names, "--clients")
	}
	takes := "no flags of its own"
	if len(names) > 0 {
		takes = "only " + strings.Join(names, ", ") + " of its own flags"
	}
	pos, err := parse(fs, args, -1) // positional ones are refused below
	if errors.Is(err, flag.ErrHelp) {
		return pf, err
	}
	if err != nil {
		return pf, usagef("%v: in compare, %s takes %s", err, program, takes)
	}
	if len(pos) > 0 {
		return pf, &usageError{msg: fmt.Sprintf("expected 1 argument, got %d: compare picks the address, word and port itself", 1+len(pos)), showUsage: true}
	}
	if mode != "" && pf.mode != mode {
		return pf, usagef("--mode %s before the program and --mode %s after it: give it once", mode, pf.mode)
	}
	if pf.faithful && program != "tcp-echo-server" {
		return pf, usagef("--faithful is tcp-echo-server's, with --mode select: %s has no fragile version to compare", program)
	}
	if pf.batch < 0 || pf.batch > udp.MaxBatch {
		return pf, usagef("invalid --batch %d: want 1 to %d", pf.batch, udp.MaxBatch)
	}
	if program == "tcp-slow-client" && (pf.clients < 1 || pf.clients > 20) {
		return pf, usagef("invalid --clients %d: compare traces 1 to 20 connections", pf.clients)
	}
	if program == "udp-stress-client" && (pf.clients < 1 || pf.clients > 20) {
		return pf, usagef("invalid --clients %d: compare traces 1 to 20 requests", pf.clients)
	}
	return pf, nil
}

// tcpCompareModes returns tcp-echo-server's modes, in the tutorial's
// order (tcp.Models); each has its C twin.
func tcpCompareModes() []string { return tcp.Modes() }

// compareSpec returns the spec of program with its flags, or a usage error
// naming the valid ones.
func compareSpec(program string, pf programFlags) (twinSpec, error) {
	mode := pf.mode
	epoll := []string{"epoll_wait", "epoll_pwait"}
	s := twinSpec{program: program, mode: mode, netIdle: epoll}
	modes := map[string][]string{"tcp-echo-server": tcpCompareModes(), "udp-lengthy-server": lengthyCompareModes}[program]
	switch {
	case !contains(comparePrograms, program):
		return s, usagef("unknown program %q: compare knows %s", program, strings.Join(comparePrograms, ", "))
	case modes == nil && mode != "":
		return s, usagef("%s has no --mode; the programs with modes are tcp-echo-server and udp-lengthy-server", program)
	case modes != nil && mode == "":
		s.mode = modes[0]
	case modes != nil && !contains(modes, mode):
		return s, usagef("invalid --mode %q for %s: want one of %s", mode, program, strings.Join(modes, ", "))
	}
	mode = s.mode
	if pf.faithful && mode != "select" {
		return s, usagef("--faithful needs --mode select: the tutorial's fragile server is the select one, not %s", mode)
	}
	switch program {
	case "udp-echo-client", "tcp-echo-client":
		s.tcp = program == "tcp-echo-client"
		s.raw, s.net = []string{program, "--impl", "raw"}, []string{program, "--impl", "net"}
		if s.tcp {
			s.rawFile, s.netFile, s.csrc = "tcp/client.go", "tcp/client_net.go", "tcp/testdata/client.c"
		} else {
			s.rawFile, s.netFile, s.csrc = "udp/echo_client.go", "udp/echo_client_net.go", "udp/testdata/echo_client.c"
		}
	case "udp-echo-server":
		s.server = true
		s.raw, s.net = []string{program, "--impl", "raw"}, []string{program, "--impl", "net"}
		s.rawFile, s.netFile, s.csrc = "udp/echo_server.go", "udp/echo_server_net.go", "udp/testdata/echo_server.c"
		s.idle = []string{"recvfrom"}
		if pf.batch > 0 { // raw only
			s.raw = append(s.raw, "--batch", fmt.Sprint(pf.batch))
			s.net, s.netFile = nil, ""
			s.rawFile, s.csrc, s.cargs = "udp/echo_batch.go", "udp/testdata/echo_server_batch.c", []string{fmt.Sprint(pf.batch)}
			s.idle = []string{"recvmmsg"}
		}
	case "tcp-slow-client":
		s.tcp, s.threaded = true, true
		clients := []string{"--clients", fmt.Sprint(pf.clients), "--delay", "0s"}
		s.raw = append([]string{program, "--impl", "raw"}, clients...)
		s.net = append([]string{program, "--impl", "net"}, clients...)
		s.rawFile, s.netFile, s.csrc = "tcp/slow_client.go", "tcp/slow_client_net.go", "tcp/testdata/slow_client.c"
		s.cflags, s.cargs = []string{cref.Pthread}, []string{fmt.Sprint(pf.clients), "0"}
	case "udp-stress-client": // no --timeout: each waits in recvfrom, as the C twin's default does
		s.threaded, s.upper = true, true
		clients := []string{"--clients", fmt.Sprint(pf.clients)}
		s.raw = append([]string{program, "--impl", "raw"}, clients...)
		s.net = append([]string{program, "--impl", "net"}, clients...)
		s.rawFile, s.netFile, s.csrc = "udp/stress_client.go", "udp/stress_client_net.go", "udp/testdata/stress_client.c"
		s.cflags, s.cargs = []string{cref.Pthread}, []string{fmt.Sprint(pf.clients)}
	case "tcp-echo-server":
		s.server, s.tcp = true, true
		s.raw = []string{program, "--mode", mode, "--impl", "raw"}
		if mode == "epoll" {
			s.raw = append(s.raw, "--loops", "1") // the C twin's default
		}
		s.rawFile, s.csrc = "tcp/"+mode+".go", "tcp/testdata/"+mode+".c"
		if m, _ := tcp.Lookup(mode, false); m.HasNet() {
			s.net, s.netFile = []string{program, "--mode", mode, "--impl", "net"}, "tcp/"+mode+"_net.go"
		}
		if mode == "thread" {
			s.cflags, s.threaded = []string{cref.Pthread}, true
		}
		s.idle = map[string][]string{"select": {"select", "pselect6"}, "poll": {"poll", "ppoll"}, "epoll": epoll}[mode]
		if s.idle == nil { // the blocking models
			s.idle = []string{"accept", "accept4"}
		}
		if pf.faithful { // one client a round, which ends compareFaithfulIdle after the echo
			s.faithful, s.spins = true, true
			s.raw = []string{program, "--mode", mode, "--faithful", "--clients", "1", "--idle", compareFaithfulIdle.String(), "--impl", "raw"}
			s.rawFile, s.csrc = "tcp/select_faithful.go", "tcp/testdata/select_faithful.c"
			s.cargs = []string{"1", fmt.Sprint(compareFaithfulIdle.Milliseconds())}
			s.idle = []string{"accept", "accept4"} // between rounds; in a round it spins
			s.loopNote = "Why it spins: the client is in the write set and always writable, and once it has sent " +
				"its FIN it is readable too, at end of file; so select returns at once, recv returns 0, and " +
				"nothing ends the round but the idle time. The tutorial's fragile server, in Go and in C alike."
		}
	case "udp-lengthy-server":
		s.server = true
		delay := compareDelay.String()
		stem := strings.ReplaceAll(mode, "-", "") // fork-exec: lengthy_forkexec
		s.raw = []string{program, "--mode", mode, "--delay", delay, "--impl", "raw"}
		s.rawFile = "udp/lengthy_" + stem + ".go"
		if mode == "thread" {
			s.net, s.netFile = []string{program, "--mode", mode, "--delay", delay, "--impl", "net"}, "udp/lengthy_thread_net.go"
			s.cflags = []string{cref.Pthread}
		}
		s.csrc, s.cargs = "udp/testdata/lengthy_"+stem+".c", []string{fmt.Sprint(compareDelay.Milliseconds())}
		s.idle = []string{"recvfrom"}
		if mode == "async" {
			s.idle = epoll
		}
		if mode == "prefork" {
			s.raw = append(s.raw, "--workers", fmt.Sprint(compareWorkers))
			s.cargs = append(s.cargs, fmt.Sprint(compareWorkers))
			s.workers = compareWorkers
		}
	}
	return s, nil
}

// splitAtProgram splits compare's command line at the program's name:
// compare's own flags before it, the program's flags after it.
func splitAtProgram(fs *cmdFlags, args []string) (own []string, program string, rest []string) {
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--":
			if i+1 < len(args) {
				return args[:i], args[i+1], args[i+2:]
			}
			return args[:i], "", nil
		case isFlag(args[i]):
			if takesValue(fs, args[i]) {
				i++
			}
		default:
			return args[:i], args[i], args[i+1:]
		}
	}
	return args, "", nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "[flags] <program> [program flags]",
		"Runs the raw program, its net twin and its C twin (when cc is installed and the\n"+
			"sources are found) under strace on ephemeral loopback ports, against one client\n"+
			"(for a server) or one server (for a client), and prints their network system\n"+
			"calls side by side, aligned by step. Each difference is marked and explained from\n"+
			"the table of known differences (internal/strace/known.go), or marked UNEXPLAINED.\n"+
			"Programs: "+strings.Join(comparePrograms, ", ")+".\n"+
			"Program flags, after its name: --mode for tcp-echo-server ("+strings.Join(tcpCompareModes(), ", ")+")\n"+
			"and udp-lengthy-server ("+strings.Join(lengthyCompareModes, ", ")+"); --faithful with tcp-echo-server --mode select\n"+
			"(the tutorial's spinning select server: rounds of a loop that repeat alike are shown once, with\n"+
			"their count); --batch N for udp-echo-server; "+
			fmt.Sprintf("--clients N for tcp-slow-client and udp-stress-client (default %d). Needs strace.", compareSlowClients),
		[]string{"socklab compare udp-echo-client", "socklab compare tcp-echo-server --mode select", "socklab compare udp-echo-server --batch 32"}, stdout)
	mode := fs.String("mode", "", "server model, for tcp-echo-server and udp-lengthy-server (also taken after the program's name)")
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	word := fs.String("word", "hello", "what the client sends")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on each traced run")
	src := fs.String("src", "", "the socklab source tree holding the C twins (default: found from the working directory or the binary)")
	own, program, rest := splitAtProgram(fs, args)
	if _, err := parse(fs, own, 0); err != nil {
		return err
	}
	if program == "" {
		return &usageError{msg: "expected 1 argument, got 0", showUsage: true}
	}
	pf, err := parseProgramFlags(program, rest, *mode, fs)
	if err != nil {
		if !contains(comparePrograms, program) { // the program's name is the first mistake
			_, err = compareSpec(program, pf)
		}
		return err
	}
	spec, err := compareSpec(program, pf)
	if err != nil {
		return err
	}
	if err := checkDuration("timeout", *timeout); err != nil {
		return err
	}
	if *timeout == 0 {
		return usagef("invalid --timeout 0: compare bounds every run; give a positive duration")
	}
	if *word == "" || strings.ContainsAny(*word, "\x00\n") {
		return usagef("invalid --word %q: want a non-empty word on one line", *word)
	}
	if err := strace.Available(); err != nil {
		return errors.New("socklab compare needs strace, which is not installed: apt-get install strace")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the socklab binary to trace: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	dir, err := os.MkdirTemp("", "socklab-compare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	r := &comparison{spec: spec, self: self, dir: dir, word: *word, timeout: *timeout}
	if err := r.run(ctx, *src); err != nil {
		return err
	}
	if *asJSON {
		return r.writeJSON(stdout)
	}
	r.writeText(stdout)
	return nil
}

// findSources returns the root of the socklab tree that holds the C twins:
// flag if set, else the working directory or the binary's directory, or a
// parent of either.
func findSources(flag string) (string, error) {
	const probe = "udp/testdata/echo_client.c"
	if flag != "" {
		if _, err := os.Stat(filepath.Join(flag, probe)); err != nil {
			return "", fmt.Errorf("--src %s holds no C twins (%s): %w", flag, probe, err)
		}
		return flag, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, d := range starts {
		for {
			if _, err := os.Stat(filepath.Join(d, probe)); err == nil {
				return d, nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", errors.New("the C sources were not found: run from a socklab checkout or pass --src DIR")
}

// comparison is one run of compare: the columns traced and their rows.
type comparison struct {
	spec    twinSpec
	self    string
	dir     string
	word    string
	timeout time.Duration

	server  string   // client programs: the server they asked ("127.0.0.1:PORT", raw, in-process)
	cols    []column // traced, raw first
	missing []column // twins not traced, with the reason
	rows    []strace.Row
}

// column is one traced program.
type column struct {
	Name   string   `json:"name"` // raw, net, c
	Source string   `json:"source"`
	Argv   []string `json:"argv,omitempty"`
	Reason string   `json:"reason,omitempty"` // why it is missing
	steps  []strace.Step
}

func (r *comparison) run(ctx context.Context, src string) error {
	s := r.spec
	cols := []column{{Name: "raw", Source: s.rawFile, Argv: append([]string{r.self}, s.raw...)}}
	if s.net != nil {
		cols = append(cols, column{Name: "net", Source: s.netFile, Argv: append([]string{r.self}, s.net...)})
	} else {
		r.missing = append(r.missing, column{Name: "net", Reason: "no net twin of this mode"})
	}
	if cbin, err := r.buildC(src); err != nil {
		r.missing = append(r.missing, column{Name: "c", Source: s.csrc, Reason: err.Error()})
	} else {
		cols = append(cols, column{Name: "c", Source: s.csrc, Argv: []string{cbin}})
	}

	var port int
	if !s.server { // one raw server, in this process, for every client
		p, stopServer, err := startCompareServer(s.tcp, s.upper)
		if err != nil {
			return err
		}
		defer stopServer()
		port = p
		r.server = fmt.Sprintf("127.0.0.1:%d", p)
	}
	for i := range cols {
		c := &cols[i]
		if s.server {
			c.Argv = append(c.Argv, "0")
		} else {
			c.Argv = append(c.Argv, "127.0.0.1", r.word, fmt.Sprint(port))
		}
		if c.Name == "c" {
			c.Argv = append(c.Argv, s.cargs...)
		}
		idle := s.idle
		if c.Name == "net" {
			idle = s.netIdle
		}
		steps, err := r.trace(ctx, c.Name, c.Argv, idle)
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.Name, s.program, err)
		}
		c.steps = steps
	}
	r.cols = cols
	var twins []strace.Column
	for _, c := range cols[1:] {
		twins = append(twins, strace.Column{Name: c.Name, Steps: c.steps})
	}
	r.rows = strace.Align(cols[0].steps, twins...)
	return nil
}

// buildC compiles the C twin, or says why there is none.
func (r *comparison) buildC(src string) (string, error) {
	if r.spec.csrc == "" {
		return "", errors.New("no C twin of this mode")
	}
	if err := cref.Available(); err != nil {
		return "", errors.New("cc is not installed (apt-get install gcc)")
	}
	root, err := findSources(src)
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, r.spec.csrc)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s not found in %s", r.spec.csrc, root)
	}
	return cref.New(r.dir).Build(path, r.spec.cflags...)
}

// startCompareServer starts the raw echo server, in this process, on an
// ephemeral loopback port, and returns the port and how to stop it. With
// upper it is the UDP lengthy server instead (upperServer).
func startCompareServer(isTCP, upper bool) (int, func(), error) {
	if isTCP {
		iterative, _ := tcp.Lookup("iterative", false)
		srv, err := iterative.Start(tcp.Config{Quiet: true})
		if err != nil {
			return 0, nil, err
		}
		return srv.Port, func() { srv.Stop() }, nil
	}
	sock, port, err := udp.Listen(0)
	if err != nil {
		return 0, nil, err
	}
	done := make(chan error, 1)
	// The stress client expects its message upper-cased, which the echo
	// server does not do. The delay makes each reply come well after its
	// request, so that the net twin's first read finds nothing (EAGAIN)
	// and waits in the poller, run after run, rather than only when the
	// scheduler happens to be quick (net-eagain explains both).
	if upper {
		go func() { done <- udp.ServeThread(sock, udp.LengthyConfig{Delay: compareDelay, Quiet: true}) }()
		return port, func() { udp.Stop(sock); <-done; sys.Close(sock) }, nil
	}
	go func() { done <- udp.Echo(sock, udp.EchoConfig{Quiet: true}) }()
	return port, func() { udp.Stop(sock); <-done; sys.Close(sock) }, nil
}

// upperServer names the server that answers the stress client in
// compare's text (startCompareServer).
func upperServer() string {
	return fmt.Sprintf("UDP lengthy server (--mode thread --delay %v: upper-cased replies)", compareDelay)
}

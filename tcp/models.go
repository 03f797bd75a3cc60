package tcp

import (
	"context"
	"net"

	"github.com/socklab/socklab/sys"
)

// Model is one concurrency model of the TCP echo server: the mode that
// picks it, its three files, the flags of its own, and how to run it. The
// command line, the lab, compare, the benchmarks and the tests all read
// this table rather than keep lists of their own.
type Model struct {
	Mode     string // tcp-echo-server --mode
	Faithful bool   // the tutorial's version of the mode (--faithful)
	Go       string // the raw program, from the module root
	Net      string // its net twin; "" for none
	C        string // its C twin
	Pthread  bool   // the C twin is built with -pthread
	Loops    bool   // serves several SO_REUSEPORT sockets (--loops)
	Tutorial bool   // keeps the tutorial's listen(20); the others listen with Somaxconn

	// Flags are the tcp-echo-server flags that only this model takes,
	// beside --impl, --quiet and --idle that all take.
	Flags []string

	// Idle are the system calls a server of this model blocks in between
	// clients, as strace and /proc name them.
	Idle []string

	serve    func(ctx context.Context, listenfds []int, cfg Config) error
	serveNet func(l *net.TCPListener, cfg Config) error
}

// Models lists the models in the tutorial's order, the robust select
// before the tutorial's own.
var Models = []Model{
	{Mode: "iterative", Tutorial: true, Go: "tcp/iterative.go", Net: "tcp/iterative_net.go", C: "tcp/testdata/iterative.c",
		Idle: []string{"accept", "accept4"}, serve: one(ServeIterative), serveNet: ServeIterativeNet},
	{Mode: "fork", Go: "tcp/fork.go", C: "tcp/testdata/fork.c", Flags: []string{"max-children"},
		Idle: []string{"accept", "accept4"}, serve: one(ServeFork)},
	{Mode: "thread", Go: "tcp/thread.go", Net: "tcp/thread_net.go", C: "tcp/testdata/thread.c", Pthread: true,
		Flags: []string{"max-clients"}, Idle: []string{"accept", "accept4"}, serve: one(ServeThread), serveNet: ServeThreadNet},
	{Mode: "select", Go: "tcp/select.go", C: "tcp/testdata/select.c", Flags: []string{"max-clients"},
		Idle: []string{"select", "pselect6"}, serve: one(ServeSelect)},
	{Mode: "select", Faithful: true, Tutorial: true, Go: "tcp/select_faithful.go", C: "tcp/testdata/select_faithful.c",
		Flags: []string{"clients"}, Idle: []string{"select", "pselect6"}, serve: one(ServeSelectFaithful)},
	{Mode: "poll", Go: "tcp/poll.go", C: "tcp/testdata/poll.c", Idle: []string{"poll", "ppoll"}, serve: one(ServePoll)},
	{Mode: "epoll", Go: "tcp/epoll.go", C: "tcp/testdata/epoll.c", Loops: true, Flags: []string{"loops"},
		Idle: []string{"epoll_wait", "epoll_pwait"}, serve: ServeEpoll},
}

func one(serve func(context.Context, int, Config) error) func(context.Context, []int, Config) error {
	return func(ctx context.Context, fds []int, cfg Config) error { return serve(ctx, fds[0], cfg) }
}

// Modes returns the --mode names, each once, in the tutorial's order.
func Modes() []string {
	var out []string
	for _, m := range Models {
		if len(out) == 0 || out[len(out)-1] != m.Mode {
			out = append(out, m.Mode)
		}
	}
	return out
}

// Lookup returns the model of mode, the tutorial's version if faithful.
func Lookup(mode string, faithful bool) (Model, bool) {
	for _, m := range Models {
		if m.Mode == mode && m.Faithful == faithful {
			return m, true
		}
	}
	return Model{}, false
}

// Name is the model as the lab and compare print it: its mode, with
// "(faithful)" for the tutorial's version.
func (m Model) Name() string {
	if m.Faithful {
		return m.Mode + " (faithful)"
	}
	return m.Mode
}

// HasNet reports whether the model has a net twin.
func (m Model) HasNet() bool { return m.serveNet != nil }

// DefaultBacklog is the model's listen backlog: the tutorial's 20, or the
// kernel's cap for a model built to scale.
func (m Model) DefaultBacklog() int {
	if m.Tutorial {
		return Backlog
	}
	return Somaxconn()
}

// Listen opens the model's listening sockets on port (0: any free one):
// one, or loops SO_REUSEPORT sockets for a model that serves several,
// with backlog (0: DefaultBacklog). It returns them and the bound port.
func (m Model) Listen(port, loops, backlog int) ([]int, int, error) {
	if backlog <= 0 {
		backlog = m.DefaultBacklog()
	}
	if m.Loops {
		return ListenReusePort(port, max(loops, 1), backlog)
	}
	fd, bound, err := ListenBacklog(port, backlog)
	if err != nil {
		return nil, 0, err
	}
	return []int{fd}, bound, nil
}

// Serve runs the raw server on the sockets from Listen until ctx is done.
// It does not close them.
func (m Model) Serve(ctx context.Context, listenfds []int, cfg Config) error {
	return m.serve(ctx, listenfds, cfg)
}

// ServeNet runs the net twin on l until ctx is done, then closes l. It
// must not be called for a model without one (HasNet).
func (m Model) ServeNet(ctx context.Context, l *net.TCPListener, cfg Config) error {
	defer context.AfterFunc(ctx, func() { l.Close() })()
	return m.serveNet(l, cfg)
}

// Server is a raw server of one model running in this process.
type Server struct {
	Port  int
	socks []int
	stop  context.CancelFunc
	done  chan error
}

// Start listens on a free loopback-reachable port and serves with the
// model in a goroutine until Stop.
func (m Model) Start(cfg Config) (*Server, error) {
	socks, port, err := m.Listen(0, 1, 0)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{Port: port, socks: socks, stop: stop, done: make(chan error, 1)}
	go func() { s.done <- m.Serve(ctx, socks, cfg) }()
	return s, nil
}

// Stop ends the server, closes its sockets and returns what Serve did.
func (s *Server) Stop() error {
	s.stop()
	err := <-s.done
	for _, fd := range s.socks {
		sys.Close(fd)
	}
	return err
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/bench"
	"github.com/socklab/socklab/sys"
)

// E3: K idle connections and one active one. Each server runs as a
// process of its own (so that its descriptors are its own: select cannot
// watch one at FD_SETSIZE or above); the lab opens K connections that
// each echo one byte, to be sure the server holds them, and then go
// silent, and one ping-pong connection (internal/bench, one 32-byte
// message in flight) whose round trips are timed. select and poll look at
// every connection on every wake-up, so the active client's latency grows
// with K; epoll and the net package's poller (epoll too) do not.

// IdleResult is E3's measurement.
type IdleResult struct {
	Nofile  uint64      `json:"rlimit_nofile"` // this process's soft limit, raised to the hard one
	Seconds float64     `json:"seconds_per_point"`
	Points  []IdlePoint `json:"points"`
	Skipped []IdleSkip  `json:"skipped,omitempty"`
}

// IdlePoint is one server at one K.
type IdlePoint struct {
	Server     string        `json:"server"`
	K          int           `json:"k"`
	RoundTrips int64         `json:"round_trips"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Error      string        `json:"error,omitempty"`
}

// IdleSkip is a point not measured, and why.
type IdleSkip struct {
	Server string `json:"server"`
	K      int    `json:"k"`
	Why    string `json:"why"`
}

// fdSetSize is FD_SETSIZE; a select server needs about selectReserve
// descriptors of its own beside its clients.
const (
	fdSetSize     = 1024
	selectReserve = 16
	nofileReserve = 64 // descriptors the lab keeps for itself beside K
)

// idleServers are E3's servers: name and socklab arguments.
func idleServers() [][2]string {
	return [][2]string{{"select", "--mode select"}, {"poll", "--mode poll"},
		{"epoll", "--mode epoll --loops 1"}, {"net", "--mode thread --impl net"}}
}

// RaiseNofile raises this process's soft RLIMIT_NOFILE to its hard limit
// and returns the new soft limit.
func RaiseNofile() (uint64, error) {
	var lim sys.Rlimit
	if err := sys.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		want := sys.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := sys.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
			return lim.Cur, err
		}
		lim.Cur = lim.Max
	}
	return lim.Cur, nil
}

// Idle runs E3.
func Idle(ctx context.Context, cfg Config) (*IdleResult, error) {
	cfg = cfg.withDefaults()
	if cfg.Self == "" {
		return nil, errors.New("E3 runs socklab's servers, and Config.Self names no binary")
	}
	nofile, err := RaiseNofile()
	if err != nil {
		return nil, err
	}
	ks := slices.Clone(cfg.Ks)
	slices.Sort(ks)
	res := &IdleResult{Nofile: nofile, Seconds: cfg.Duration.Seconds()}
	var errs []error
	for _, s := range idleServers() {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := idleServer(ctx, cfg, s[0], s[1], ks, res); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s[0], err))
		}
	}
	return res, errors.Join(errs...)
}

func idleServer(ctx context.Context, cfg Config, name, args string, ks []int, res *IdleResult) (err error) {
	argv := append([]string{cfg.Self, "tcp-echo-server"}, strings.Fields(args+" --quiet 0")...)
	p, err := startProc(ctx, name, argv, nil)
	if err != nil {
		return err
	}
	var lim sys.Rlimit // the server may hold every K
	if sys.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		sys.Prlimit(p.Cmd.Process.Pid, unix.RLIMIT_NOFILE, &sys.Rlimit{Cur: lim.Max, Max: lim.Max}, nil)
	}
	idle := make([]int, 0, ks[len(ks)-1])
	defer func() {
		for _, fd := range idle {
			sys.Close(fd)
		}
		err = errors.Join(err, stopProc(p))
	}()
	for _, k := range ks {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if name == "select" && k+selectReserve > fdSetSize {
			res.Skipped = append(res.Skipped, IdleSkip{name, k, fmt.Sprintf("select watches descriptors below FD_SETSIZE (%d) only", fdSetSize)})
			continue
		}
		if uint64(k+nofileReserve) > res.Nofile {
			res.Skipped = append(res.Skipped, IdleSkip{name, k, fmt.Sprintf("RLIMIT_NOFILE hard limit %d < %d", res.Nofile, k+nofileReserve)})
			continue
		}
		cfg.Progress.Set("E3 %s server: opening %d idle connections", name, k)
		if idle, err = addIdle(idle, p.Port, k-len(idle)); err != nil {
			return fmt.Errorf("opening idle connection %d: %w", len(idle)+1, err)
		}
		cfg.Progress.Set("E3 %s server: %d idle connections, timing one ping-pong for %s", name, k, dur(cfg.Duration))
		pt := IdlePoint{Server: name, K: k}
		r, berr := bench.TCP(ctx, bench.Config{Server: [4]byte{127, 0, 0, 1}, Port: p.Port, Conns: 1, Window: 1,
			Size: 32, Duration: cfg.Duration, Count: 1_000_000, Timeout: 2 * time.Second})
		pt.RoundTrips, pt.P50, pt.P99 = r.Received, r.Latency.P50, r.Latency.P99
		if berr != nil {
			pt.Error = berr.Error()
		}
		res.Points = append(res.Points, pt)
		if berr != nil {
			return berr
		}
	}
	return nil
}

// addIdle opens n more connections to 127.0.0.1:port, in batches smaller
// than the server's backlog (20): each connects and sends a byte, then
// each reads its echo, so the server has accepted the batch before the
// next one knocks. Each recv is bounded by SO_RCVTIMEO.
func addIdle(idle []int, port, n int) ([]int, error) {
	to := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, port)
	var b [1]byte
	for n > 0 {
		batch := min(n, 16)
		first := len(idle)
		for range batch {
			fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_TCP)
			if err != nil {
				return idle, err
			}
			idle = append(idle, fd)
			if err := sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second); err != nil {
				return idle, err
			}
			if err := sys.Connect(fd, &to); err != nil {
				return idle, err
			}
			if _, err := sys.Send(fd, []byte{'i'}, unix.MSG_NOSIGNAL); err != nil {
				return idle, err
			}
		}
		for _, fd := range idle[first:] {
			got, err := sys.Recv(fd, b[:], 0)
			if err != nil {
				return idle, err
			}
			if got != 1 {
				return idle, errors.New("the server closed the connection (refused it?)")
			}
		}
		n -= batch
	}
	return idle, nil
}

// Table is E3's table: one row per K, p50/p99 for each server.
func (r *IdleResult) Table() *Table {
	servers := []string{}
	for _, s := range idleServers() {
		servers = append(servers, s[0])
	}
	t := &Table{
		Title:  fmt.Sprintf("%s: one ping-pong connection's round trip (p50 / p99) beside K idle ones", title("E3")),
		Header: append([]string{"K idle"}, servers...),
	}
	ks := []int{}
	for _, p := range r.Points {
		if !slices.Contains(ks, p.K) {
			ks = append(ks, p.K)
		}
	}
	for _, s := range r.Skipped {
		if !slices.Contains(ks, s.K) {
			ks = append(ks, s.K)
		}
	}
	slices.Sort(ks)
	for _, k := range ks {
		row := []string{fmt.Sprint(k)}
		for _, s := range servers {
			cell := "-"
			for _, p := range r.Points {
				if p.Server == s && p.K == k {
					cell = micros(p.P50) + " / " + micros(p.P99)
					if p.Error != "" {
						cell = "failed"
					}
				}
			}
			for _, sk := range r.Skipped {
				if sk.Server == s && sk.K == k {
					cell = "skipped"
				}
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	for _, sk := range r.Skipped {
		t.Notes = append(t.Notes, fmt.Sprintf("%s, K=%d skipped: %s.", sk.Server, sk.K, sk.Why))
	}
	for _, p := range r.Points {
		if p.Error != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s, K=%d: %s", p.Server, p.K, p.Error))
		}
	}
	t.Notes = append(t.Notes,
		fmt.Sprintf("Each point: %s of 32-byte round trips, one in flight (internal/bench), after K connections that echoed a byte each and went silent.", dur(seconds(r.Seconds))),
		"The servers are socklab tcp-echo-server processes: select, poll, epoll (one loop), net = --mode thread --impl net.",
		fmt.Sprintf("RLIMIT_NOFILE raised to %d for the lab and each server.", r.Nofile))
	return t
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/bench"
)

// E4: internal/bench (socklab bench) against the UDP and TCP echo servers,
// raw, net and C, each a process of its own as a user runs it; each rate
// also as a fraction of its C twin's in the same run.

// ThroughputRuns is E4's measurement.
type ThroughputRuns struct {
	Seconds float64         `json:"seconds_per_run"`
	C       string          `json:"c,omitempty"` // why there is no C column, when there is none
	Rows    []ThroughputRow `json:"rows"`
}

// ThroughputRow is one server's run.
type ThroughputRow struct {
	Proto      string        `json:"proto"`
	Server     string        `json:"server"` // model
	Impl       string        `json:"impl"`   // raw, net, c
	Load       string        `json:"load"`
	MsgsPerSec float64       `json:"msgs_per_sec"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Lost       int64         `json:"lost,omitempty"`
	VsC        float64       `json:"ratio_to_c,omitempty"` // MsgsPerSec / the C twin's
	Error      string        `json:"error,omitempty"`
}

type tpServer struct {
	proto, model, impl string
	args               string // socklab arguments, or the C source
	pthread            bool
}

func tpServers() []tpServer {
	return []tpServer{
		{"udp", "echo", "c", "udp/testdata/echo_server.c", false},
		{"udp", "echo", "raw", "udp-echo-server --quiet 0", false},
		{"udp", "echo", "net", "udp-echo-server --impl net --quiet 0", false},
		{"tcp", "thread", "c", "tcp/testdata/thread.c", true},
		{"tcp", "thread", "raw", "tcp-echo-server --mode thread --quiet 0", false},
		{"tcp", "thread", "net", "tcp-echo-server --mode thread --impl net --quiet 0", false},
		{"tcp", "epoll", "c", "tcp/testdata/epoll.c", true},
		{"tcp", "epoll", "raw", "tcp-echo-server --mode epoll --loops 2 --quiet 0", false},
	}
}

// Throughput runs E4.
func Throughput(ctx context.Context, cfg Config) (*ThroughputRuns, error) {
	cfg = cfg.withDefaults()
	if cfg.Self == "" {
		return nil, errors.New("E4 runs socklab's servers, and Config.Self names no binary")
	}
	res := &ThroughputRuns{Seconds: cfg.Duration.Seconds()}
	checkout, cerr := findSrc(cfg.Src)
	if cerr == nil {
		cerr = haveCC()
	}
	var dir string
	if cerr == nil {
		var err error
		if dir, err = os.MkdirTemp("", "socklab-lab-c"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	if cerr != nil {
		res.C = cerr.Error()
	}
	servers := tpServers()
	var errs []error
	cRate := map[string]float64{}
	for i, s := range servers {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if s.impl == "c" && cerr != nil {
			continue
		}
		row := ThroughputRow{Proto: s.proto, Server: s.model, Impl: s.impl}
		cfg.Progress.Set("E4 [%d/%d] %s %s server (%s) under load for %s", i+1, len(servers), s.proto, s.model, s.impl, dur(cfg.Duration))
		var argv, env []string
		if s.impl == "c" {
			bin, err := compileC(checkout, dir, s.args, s.pthread)
			if err != nil {
				res.C = err.Error()
				cerr = err
				continue
			}
			argv, env = []string{bin, "0"}, []string{"SOCKLAB_QUIET=1"}
			if s.model == "epoll" {
				argv = append(argv, "2") // two loops, as the raw server's --loops 2
			}
		} else {
			argv = append([]string{cfg.Self}, strings.Fields(s.args)...)
		}
		bcfg := bench.Config{Server: [4]byte{127, 0, 0, 1}, Duration: cfg.Duration, Count: 50_000_000}
		if s.proto == "udp" {
			bcfg.Conns, bcfg.Window, bcfg.Size = 1, 32, 64
		} else {
			bcfg.Conns, bcfg.Window, bcfg.Size = 50, 1, 32 // 32 bytes: the servers' recv(32), one segment
		}
		row.Load = fmt.Sprintf("%d conn x %d in flight x %d B", bcfg.Conns, bcfg.Window, bcfg.Size)
		r, err := benchOne(ctx, s.proto, s.model+"/"+s.impl, argv, env, bcfg)
		row.MsgsPerSec, row.P50, row.P99, row.Lost = r.MsgsPerSec, r.Latency.P50, r.Latency.P99, r.Lost
		if err != nil {
			row.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", s.proto, s.model, s.impl, err))
		}
		if s.impl == "c" && err == nil {
			cRate[s.proto+s.model] = r.MsgsPerSec
		}
		if c := cRate[s.proto+s.model]; c > 0 && s.impl != "c" && err == nil {
			row.VsC = r.MsgsPerSec / c
		}
		if s.impl == "c" && err == nil {
			row.VsC = 1
		}
		res.Rows = append(res.Rows, row)
	}
	return res, errors.Join(errs...)
}

// benchOne starts a server, loads it and stops it, whatever happened.
func benchOne(ctx context.Context, proto, name string, argv, env []string, bcfg bench.Config) (r bench.Result, err error) {
	p, err := startProc(ctx, name, argv, env)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, stopProc(p)) }()
	bcfg.Port = p.Port
	if proto == "tcp" {
		return bench.TCP(ctx, bcfg)
	}
	return bench.UDP(ctx, bcfg)
}

// Table is E4's table.
func (r *ThroughputRuns) Table() *Table {
	t := &Table{
		Title:  fmt.Sprintf("%s: %s a server", title("E4"), dur(seconds(r.Seconds))),
		Header: []string{"proto", "server", "impl", "load", "msg/s", "p50", "p99", "vs C"},
	}
	for _, row := range r.Rows {
		rate, vs := fmt.Sprintf("%.0f", row.MsgsPerSec), "-"
		if row.VsC > 0 {
			vs = ratio(row.VsC)
		}
		if row.Error != "" {
			rate = "failed"
			t.Notes = append(t.Notes, fmt.Sprintf("%s %s/%s: %s", row.Proto, row.Server, row.Impl, row.Error))
		}
		t.Rows = append(t.Rows, []string{row.Proto, row.Server, row.Impl, row.Load, rate, micros(row.P50), micros(row.P99), vs})
	}
	if r.C != "" {
		t.Notes = append(t.Notes, "No C twins: "+r.C)
	}
	t.Notes = append(t.Notes,
		"Every server is a process: socklab's, or its C twin built with cc -std=gnu11 -O2. The load is internal/bench (socklab bench), every echo checked; vs C = msg/s over the C twin's, same model, same run.")
	return t
}

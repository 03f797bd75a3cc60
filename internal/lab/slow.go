package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

// E2, the tutorial's "slow connection" client: Clients connections at
// once, each sending its message a byte at a time with Dribble between
// bytes and reading the echo back the same way, against every
// tcp-echo-server model. One connection alone takes 2 x len(message) x
// Dribble: that is the limit each row is compared with. A one-at-a-time
// server serves the connections in turn (the tutorial's 37.07 s); a
// concurrent one lets them all dribble at once (its select server: about
// 6 s).

// SlowResult is E2's measurement.
type SlowResult struct {
	Dribble float64   `json:"dribble_seconds"`
	Clients int       `json:"clients"`
	Message string    `json:"longest_message"`
	Limit   float64   `json:"limit_seconds"` // one connection's own dribble time, the longest message
	Rows    []SlowRow `json:"rows"`
}

// SlowRow is one server's run.
type SlowRow struct {
	Model         string  `json:"model"`
	Impl          string  `json:"impl"`
	Seconds       float64 `json:"seconds"`
	Limit         float64 `json:"limit_seconds"`
	Ratio         float64 `json:"ratio"`
	Tutorial      float64 `json:"tutorial_seconds,omitempty"`
	TutorialRatio float64 `json:"tutorial_ratio,omitempty"`
	Error         string  `json:"error,omitempty"`
}

// The tutorial's slow client sent "Hello world [n]": one connection
// dribbles 2 x 15 or 16 bytes at 0.1 s.
const tutorialSlowLimit = 2 * 16 * 0.1

func slowTutorial(model, impl string) float64 {
	if impl != "raw" {
		return 0
	}
	return map[string]float64{"iterative": 37.07, "select (faithful)": 6}[model]
}

// Slow runs E2.
func Slow(ctx context.Context, cfg Config) (*SlowResult, error) {
	cfg = cfg.withDefaults()
	dribble := cfg.Dribble()
	longest := tcp.SlowMessage(cfg.Word, cfg.Clients-1)
	limit := time.Duration(2*len(longest)) * dribble
	res := &SlowResult{Dribble: dribble.Seconds(), Clients: cfg.Clients, Message: longest, Limit: limit.Seconds()}
	type run struct {
		model tcp.Model
		impl  string
	}
	var runs []run
	for _, m := range tcp.Models {
		runs = append(runs, run{m, "raw"})
		if m.HasNet() {
			runs = append(runs, run{m, "net"})
		}
	}
	var failed []string
	for i, r := range runs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		cfg.Progress.Set("E2 [%d/%d] %d slow connections against the %s server (%s), %s a byte", i+1, len(runs),
			cfg.Clients, r.model.Name(), r.impl, dur(dribble))
		row := SlowRow{Model: r.model.Name(), Impl: r.impl, Limit: limit.Seconds(), Tutorial: slowTutorial(r.model.Name(), r.impl)}
		if row.Tutorial > 0 {
			row.TutorialRatio = row.Tutorial / tutorialSlowLimit
		}
		elapsed, err := slowRun(ctx, cfg, r.model, r.impl, dribble)
		row.Seconds = elapsed.Seconds()
		row.Ratio = row.Seconds / row.Limit
		if err != nil {
			row.Error = err.Error()
			failed = append(failed, r.model.Name()+"/"+r.impl+": "+err.Error())
		}
		res.Rows = append(res.Rows, row)
	}
	if len(failed) > 0 {
		return res, errors.New(strings.Join(failed, "; "))
	}
	return res, nil
}

// slowRun starts one server in this process, runs the slow client against
// it and stops it, whatever happened.
func slowRun(ctx context.Context, cfg Config, model tcp.Model, impl string, dribble time.Duration) (elapsed time.Duration, err error) {
	scfg := tcp.Config{Quiet: true, Clients: cfg.Clients}
	if model.Faithful {
		scfg.Idle = scaled(tcp.FaithfulIdle, cfg.Scale)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var port int
	var socks []int
	if impl == "net" {
		var l *net.TCPListener
		if l, port, err = tcp.ListenNet(0); err != nil {
			cancel()
			return 0, err
		}
		go func() { done <- model.ServeNet(sctx, l, scfg) }()
	} else {
		if socks, port, err = model.Listen(0, 1, 0); err != nil {
			cancel()
			return 0, err
		}
		go func() { done <- model.Serve(sctx, socks, scfg) }()
	}
	defer func() {
		cancel()
		err = errors.Join(err, <-done)
		for _, fd := range socks {
			err = errors.Join(err, sys.Close(fd))
		}
	}()

	got := make(chan error, 1)
	start := time.Now()
	go func() { // bounded: every send and recv gives up after Timeout
		got <- tcp.SlowClient([4]byte{127, 0, 0, 1}, port, cfg.Word, tcp.SlowConfig{Clients: cfg.Clients,
			Delay: dribble, Timeout: time.Duration(cfg.Clients+2)*time.Duration(2*len(cfg.Word)+8)*dribble + 5*time.Second})
	}()
	select {
	case err := <-got:
		return time.Since(start), err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Table is E2's table.
func (r *SlowResult) Table() *Table {
	t := &Table{
		Title: fmt.Sprintf("%s: %d connections at once, %q at %s a byte", title("E2"), r.Clients, r.Message,
			dur(seconds(r.Dribble))),
		Header: []string{"server", "impl", "time", "limit", "ratio", "tutorial (0.1 s a byte)"},
	}
	for _, row := range r.Rows {
		tut := "-"
		if row.Tutorial > 0 {
			tut = fmt.Sprintf("%s = %s", secs(row.Tutorial), ratio(row.TutorialRatio))
		}
		time := secs(row.Seconds)
		if row.Error != "" {
			time = "failed"
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: %s", row.Model, row.Impl, row.Error))
		}
		t.Rows = append(t.Rows, []string{row.Model, row.Impl, time, secs(row.Limit), ratio(row.Ratio), tut})
	}
	t.Notes = append(t.Notes,
		fmt.Sprintf("limit: one connection's own dribble time, 2 x %d bytes x the pause; ratio = time / limit.", len(r.Message)),
		fmt.Sprintf("A one-at-a-time server lets every client send at once (the kernel queues the connections) but echoes them in turn: about (%d+1)/2 times the limit.", r.Clients),
		"The tutorial's ratios assume its 16-byte \"Hello world [n]\"; its select server is the fragile one, select (faithful) here.",
		"epoll runs one loop. The raw slow client (tcp.SlowClient) and the servers run in the lab's process.")
	return t
}

package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/proc"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// E1, the tutorial's "lengthy action": the stress client's requests,
// fired at once, against every udp-lengthy-server mode. Each request
// takes Delay on the server, so no server can answer them all sooner than
// Delay after the first send: that is the physical limit, and each row's
// ratio is its completion time over it. The iterative server needs about
// Clients times the limit; a concurrent one about once the limit, plus
// what its concurrency costs.

// LengthyResult is E1's measurement.
type LengthyResult struct {
	Delay   float64      `json:"delay_seconds"` // the physical limit
	Clients int          `json:"clients"`
	Rows    []LengthyRow `json:"rows"`
}

// LengthyRow is one server's run.
type LengthyRow struct {
	Mode          string  `json:"mode"`
	Impl          string  `json:"impl"` // raw or net
	Seconds       float64 `json:"seconds"`
	Limit         float64 `json:"limit_seconds"`
	Ratio         float64 `json:"ratio"` // Seconds / Limit
	Replies       int     `json:"replies"`
	Tutorial      float64 `json:"tutorial_seconds,omitempty"` // at 5 s and 20 clients
	TutorialRatio float64 `json:"tutorial_ratio,omitempty"`
	Note          string  `json:"note,omitempty"`
	Error         string  `json:"error,omitempty"`
}

// lengthyTutorial is the tutorial's figure for a mode: 103.96 s one at a
// time, "about 9 seconds" threaded, "a couple of seconds faster" forking.
func lengthyTutorial(mode, impl string) float64 {
	if impl != "raw" {
		return 0
	}
	return map[string]float64{"iterative": 103.96, "thread": 9, "fork": 7}[mode]
}

// Lengthy runs E1.
func Lengthy(ctx context.Context, cfg Config) (*LengthyResult, error) {
	cfg = cfg.withDefaults()
	delay := cfg.Delay()
	res := &LengthyResult{Delay: delay.Seconds(), Clients: cfg.Clients}
	type run struct{ mode, impl string }
	var runs []run
	for _, m := range udp.Modes {
		runs = append(runs, run{m, "raw"})
		if m == "thread" {
			runs = append(runs, run{m, "net"})
		}
	}
	for i, r := range runs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		cfg.Progress.Set("E1 [%d/%d] %d requests against the %s server (%s), %s each", i+1, len(runs),
			cfg.Clients, r.mode, r.impl, dur(delay))
		row := LengthyRow{Mode: r.mode, Impl: r.impl, Limit: delay.Seconds(),
			Tutorial: lengthyTutorial(r.mode, r.impl)}
		if row.Tutorial > 0 {
			row.TutorialRatio = row.Tutorial / TutorialDelay.Seconds()
		}
		elapsed, replies, note, err := lengthyRun(ctx, cfg, r.mode, r.impl, delay)
		row.Seconds, row.Replies, row.Note = elapsed.Seconds(), replies, note
		row.Ratio = row.Seconds / row.Limit
		if err != nil {
			row.Error = err.Error()
		}
		res.Rows = append(res.Rows, row)
	}
	var failed []string
	for _, r := range res.Rows {
		if r.Error != "" {
			failed = append(failed, r.Mode+"/"+r.Impl+": "+r.Error)
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return res, nil
}

// lengthyRun starts one server in this process, fires the stress client
// at it and stops it, whatever happened.
func lengthyRun(ctx context.Context, cfg Config, mode, impl string, delay time.Duration) (elapsed time.Duration, replies int, note string, err error) {
	var log lockedBuffer
	lcfg := udp.LengthyConfig{Delay: delay, Quiet: true, Log: &log,
		MaxChildren: max(udp.DefaultMaxChildren, cfg.Clients), Workers: cfg.Clients,
		Command: []string{cfg.Self}} // the role and its facts follow (udp.ChildArgs, udp.WorkerArgs)
	if (mode == "fork-exec" || mode == "prefork") && cfg.Self == "" {
		return 0, 0, "", fmt.Errorf("%s re-executes socklab, and Config.Self names no binary", mode)
	}
	var port int
	var stop func() error
	done := make(chan error, 1)
	if impl == "net" {
		conn, p, lerr := udp.ListenNet(0)
		if lerr != nil {
			return 0, 0, "", lerr
		}
		port = p
		go func() { done <- udp.ServeThreadNet(conn, lcfg) }()
		stop = func() error {
			err := udp.StopLengthyNet(conn)
			return errors.Join(err, <-done, conn.Close())
		}
	} else {
		fd, p, lerr := udp.Listen(0)
		if lerr != nil {
			return 0, 0, "", lerr
		}
		port = p
		serve := map[string]func(int, udp.LengthyConfig) error{
			"iterative": udp.ServeIterative, "thread": udp.ServeThread, "fork": udp.ServeFork,
			"fork-exec": udp.ServeForkExec, "async": udp.ServeAsync, "prefork": udp.ServePrefork,
		}[mode]
		go func() { done <- serve(fd, lcfg) }()
		stop = func() error {
			err := udp.Stop(fd)
			drain(fd) // after Ctrl-C: the iterative server and prefork's workers would serve what is queued
			return errors.Join(err, <-done, sys.Close(fd))
		}
	}
	defer func() {
		err = errors.Join(err, stop())
		if s := strings.TrimSpace(log.String()); s != "" {
			note = firstLine(s)
		}
	}()
	if mode == "prefork" {
		waitWorkers(ctx, cfg.Clients, 5*time.Second)
	}

	got := make(chan udp.StressResult, 1)
	go func() { // bounded: each client gives up after its Timeout
		got <- udp.Stress([4]byte{127, 0, 0, 1}, port, cfg.Word, udp.StressConfig{
			Clients: cfg.Clients, Timeout: time.Duration(cfg.Clients+2)*delay + 5*time.Second})
	}()
	select {
	case r := <-got:
		return r.Elapsed, r.Replies, "", r.Err()
	case <-ctx.Done():
		return 0, 0, "", ctx.Err() // the clients are left to time out
	}
}

// drain discards the requests still queued on a stopped server's socket,
// so that stopping takes one delay at most, not one per request queued.
func drain(fd int) {
	var buf [udp.DefaultBufSize]byte
	var from sys.SockaddrIn
	for range 100_000 {
		fromlen := sys.SizeofSockaddrIn
		n, err := sys.Recvfrom(fd, buf[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC, &from, &fromlen)
		if err != nil || (n == 0 && fromlen == 0) { // EAGAIN, or shut down and empty
			return
		}
	}
}

// waitWorkers waits, at most limit, until n child processes of this one
// are asleep in the kernel (the prefork workers in recvfrom), so that the
// measurement does not include their start.
func waitWorkers(ctx context.Context, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if sleepingChildren() >= n {
			time.Sleep(20 * time.Millisecond) // from asleep to inside recvfrom
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sleepingChildren counts this process's children that have exec'd and
// whose every thread sleeps: a Go program runs more than one thread once
// started.
func sleepingChildren() int {
	count := 0
	for _, pid := range proc.Children(os.Getpid()) {
		if proc.AllIn(pid, 'S', 2) {
			count++
		}
	}
	return count
}

// Table is E1's table.
func (r *LengthyResult) Table() *Table {
	t := &Table{
		Title: fmt.Sprintf("%s: %d requests at once, each taking %s on the server", title("E1"), r.Clients,
			dur(seconds(r.Delay))),
		Header: []string{"server", "impl", "replies", "time", "limit", "ratio", "tutorial (5 s, 20 clients)"},
	}
	for _, row := range r.Rows {
		tut := "-"
		if row.Tutorial > 0 {
			tut = fmt.Sprintf("%s = %s", secs(row.Tutorial), ratio(row.TutorialRatio))
		}
		time := secs(row.Seconds)
		if row.Error != "" {
			time = "failed"
		}
		t.Rows = append(t.Rows, []string{row.Mode, row.Impl, fmt.Sprintf("%d/%d", row.Replies, r.Clients),
			time, secs(row.Limit), ratio(row.Ratio), tut})
		if row.Error != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s: %s", row.Mode, row.Impl, row.Error))
		} else if row.Note != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s/%s said: %s", row.Mode, row.Impl, row.Note))
		}
	}
	t.Notes = append(t.Notes,
		"limit: the lengthy action itself, which no server can beat; ratio = time / limit.",
		"The raw stress client (udp.Stress) and the servers run in the lab's process; fork-exec and prefork re-execute socklab for each request or worker (prefork is timed once its workers sleep).",
		"The tutorial's forking figure is its \"a couple of seconds faster\" than the threaded 9 s; it measured no other mode.")
	return t
}

// lockedBuffer collects a server's reports from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

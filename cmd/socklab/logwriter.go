package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// A server's log is its stderr, one "Client connected" line a client. A
// server must not depend on it: a stderr pipe nobody reads would stop a
// server that wrote it synchronously (and its stop on SIGTERM with it),
// and a write to a closed one kills a Go program with SIGPIPE. So a
// server command writes its log through a logWriter: a bounded buffer,
// written out by a goroutine of its own. A Write never blocks; when the
// buffer is full the line is dropped and counted, and the count goes out
// once stderr takes lines again, or at Close. A failed write (EPIPE, a
// closed stderr) ends the writing: the lines after it are discarded.
//
// The C twins write their reports with fprintf(stderr): they ignore
// SIGPIPE, so a closed stderr costs them the report only, but a stalled
// one stops them in write(2), as it stopped the tutorial's programs.

// Bounds of a server's log.
const (
	logBufSize    = 64 << 10        // bytes waiting for stderr; beyond, lines are dropped
	logFlushLimit = 1 * time.Second // how long Close waits for a stalled stderr
)

// logWriter is a server's log; see above.
type logWriter struct {
	out  io.Writer
	wake chan struct{} // a Write or Close has something for the writer
	done chan struct{} // closed when the writer has ended

	mu      sync.Mutex
	buf     []byte // waiting to be written
	dropped int    // lines dropped since the last report
	failed  bool   // a write to out failed: discard everything
	closing bool
}

// newLogWriter starts the writer of a log to out.
func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, wake: make(chan struct{}, 1), done: make(chan struct{}),
		buf: make([]byte, 0, logBufSize)}
	go w.write()
	return w
}

// Write queues p, a line, or drops it when the buffer is full. It never
// blocks on out and never fails.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	switch {
	case w.failed || w.closing:
	case len(w.buf)+len(p) > cap(w.buf):
		w.dropped++
	default:
		w.buf = append(w.buf, p...)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // the writer is awake already
	}
	return len(p), nil
}

// write is the writer: it swaps the buffer for an empty one and writes
// what it took, with the count of the lines dropped meanwhile, until
// Close.
func (w *logWriter) write() {
	defer close(w.done)
	spare := make([]byte, 0, logBufSize)
	for {
		<-w.wake
		w.mu.Lock()
		chunk, dropped, closing := w.buf, w.dropped, w.closing
		w.buf, w.dropped = spare[:0], 0
		w.mu.Unlock()
		if dropped > 0 {
			chunk = fmt.Appendf(chunk, "socklab: %d log lines dropped: stderr did not take them\n", dropped)
		}
		if len(chunk) > 0 {
			if _, err := w.out.Write(chunk); err != nil {
				w.mu.Lock()
				w.failed = true
				w.mu.Unlock()
			}
		}
		spare = chunk
		if closing {
			return
		}
	}
}

// Close writes out what is queued, waiting at most logFlushLimit for a
// stalled stderr, and ends the writer. Lines written after it are
// discarded.
func (w *logWriter) Close() error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
	case <-time.After(logFlushLimit): // stderr is stalled; the writer dies with the process
	}
	return nil
}

// serving is a server command's run: its stderr is a logWriter, written
// out before run prints the command's error.
func serving(run func(args []string, stdout, stderr io.Writer) error) func([]string, io.Writer, io.Writer) error {
	return func(args []string, stdout, stderr io.Writer) error {
		catchSIGPIPE()
		log := newLogWriter(stderr)
		defer log.Close()
		return run(args, stdout, log)
	}
}

// catchSIGPIPE makes a write to a closed stdout or stderr fail with EPIPE
// instead of killing the process: Go raises SIGPIPE on that EPIPE unless
// the program asks for the signal. Notify, not Ignore: an ignored SIGPIPE
// would stay ignored in the programs a server starts (exec keeps SIG_IGN),
// a caught one is reset to the default.
func catchSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) // nobody reads it: the signal is dropped
}

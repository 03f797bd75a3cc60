package lab

import (
	"fmt"
	"io"
	"sync"
)

// Progress shows what the lab is doing now: on a terminal one line that
// is rewritten in place, otherwise one plain line per step. A nil
// *Progress shows nothing. It is safe for concurrent use.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown bool // a line is on the terminal, not yet cleared
}

// NewProgress returns a Progress writing to w; tty says whether w is a
// terminal.
func NewProgress(w io.Writer, tty bool) *Progress { return &Progress{w: w, tty: tty} }

// Set shows the current step.
func (p *Progress) Set(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := fmt.Sprintf(format, a...)
	if !p.tty {
		fmt.Fprintln(p.w, msg)
		return
	}
	if len(msg) > 100 {
		msg = msg[:97] + "..."
	}
	fmt.Fprintf(p.w, "\r\033[K%s", msg) // back to the start, clear the line
	p.shown = true
}

// Clear removes the terminal line, before a table is printed.
func (p *Progress) Clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

package proc

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// listeningLine is what every socklab server, Go or C, prints on stderr
// once it listens, given port 0.
var listeningLine = regexp.MustCompile(`^Listening on port (\d+)$`)

// ListeningPort returns the port of a "Listening on port N" line.
func ListeningPort(line []byte) (int, bool) {
	m := listeningLine.FindSubmatch(bytes.TrimRight(line, "\r"))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	return n, err == nil
}

// maxKept bounds what an Output keeps: a server prints a line per client.
const maxKept = 1 << 20

// Output is an io.Writer for a program's stdout or stderr: it keeps what
// the program wrote (the first MiB) and the last lines, and sends on Port
// the port of its first "Listening on port N" line.
type Output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line []byte
	tail []string
	sent bool
	port chan int
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{port: make(chan int, 1)} }

// Port delivers the port of the first "Listening on port N" line, once.
func (o *Output) Port() <-chan int { return o.port }

func (o *Output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len() < maxKept {
		o.buf.Write(b[:min(len(b), maxKept-o.buf.Len())])
	}
	o.line = append(o.line, b...)
	for {
		i := bytes.IndexByte(o.line, '\n')
		if i < 0 {
			break
		}
		line := o.line[:i]
		if p, ok := ListeningPort(line); ok && !o.sent {
			o.port <- p
			o.sent = true
		} else if !bytes.HasPrefix(line, []byte("Client connected")) {
			o.tail = append(o.tail, string(line))
			if len(o.tail) > 5 {
				o.tail = o.tail[1:]
			}
		}
		o.line = o.line[i+1:]
	}
	if len(o.line) > 4096 { // no newline in sight: not a line we look for
		o.line = o.line[:0]
	}
	return len(b), nil
}

// String returns what was written (the first MiB).
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Tail returns the last five lines, "Client connected" reports left out,
// joined by " / ": what to quote in an error message.
func (o *Output) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.tail, " / ")
}

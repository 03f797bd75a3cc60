package testenv

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that a server goroutine may write while a test
// reads it: the log of an in-process server.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

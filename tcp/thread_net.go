package tcp

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// Goroutine-per-connection TCP echo server on the net package: the
// idiomatic Go server (net.Listen, Accept, go handle(conn)) and the twin
// of thread.go, with its steps: accept, report, a goroutine that echoes
// and closes. Underneath, the connections are non-blocking and the
// goroutines park in the runtime's epoll, so this is an event loop in
// disguise: no thread per connection, unlike thread.go and thread.c.
// ListenNet, echoNet and backoff are those of iterative_net.go.

// ServeThreadNet serves each connection on its own goroutine until l is
// closed; then it closes the connections, waits for their goroutines and
// returns nil.
func ServeThreadNet(l *net.TCPListener, cfg Config) error {
	w := cfg.log()
	var open conns
	var wg sync.WaitGroup
	defer wg.Wait()
	defer open.closeAll()
	for {
		conn, err := l.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if backoff(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("Failed to accept client connection: %w", err)
		}
		if !cfg.Quiet {
			fmt.Fprintf(w, "Client connected: %s\n", conn.RemoteAddr().(*net.TCPAddr).IP)
		}
		if !open.add(conn) {
			conn.Close()
			return nil
		}
		wg.Go(func() { // thread
			echoNet(conn, w, cfg.Idle)
			open.remove(conn)
		})
	}
}

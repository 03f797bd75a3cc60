package tcp

import "net"

// Goroutine-per-connection TCP echo server on the net package: the
// idiomatic Go server (net.Listen, Accept, go handle(conn)) and the twin
// of thread.go. Underneath, the connections are non-blocking and the
// goroutines park in the runtime's epoll, so this is an event loop in
// disguise: no thread per connection, unlike thread.go and thread.c.
// ListenNet is the one of iterative_net.go.

// ServeThreadNet serves each connection on its own goroutine until l is
// closed; then it closes the connections, waits for their goroutines and
// returns nil.
func ServeThreadNet(l *net.TCPListener, cfg Config) error {
	return serveNet(l, cfg, true)
}

package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
)

var loopback = [4]byte{127, 0, 0, 1}

// The tutorial's one-at-a-time server and the raw client in one process:
// Listen on a free port, serve with ServeIterative, ask with Request,
// end by cancelling its context.
func ExampleServeIterative() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeIterative(ctx, listenfd, tcp.Config{Log: os.Stdout}) }()

	reply, err := tcp.Request(loopback, port, "hello", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Client connected: 127.0.0.1
	// Received: hello
	// server: <nil>
}

// A process per connection: each client is echoed by a forked child.
// The stop shuts the listening socket down, sends SIGTERM to the children
// still serving and reaps them all before ServeFork returns.
func ExampleServeFork() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeFork(ctx, listenfd, tcp.Config{Log: os.Stdout, MaxChildren: 10}) }()

	for _, word := range []string{"one", "two"} {
		reply, err := tcp.Request(loopback, port, word, tcp.ClientConfig{Timeout: 5 * time.Second})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("Received:", reply)
	}
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Client connected: 127.0.0.1
	// Received: one
	// Client connected: 127.0.0.1
	// Received: two
	// server: <nil>
}

// A goroutine per connection on blocking raw sockets; two clients talk
// at once.
func ExampleServeThread() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeThread(ctx, listenfd, tcp.Config{Quiet: true}) }()

	replies := make(chan string, 2)
	for _, word := range []string{"left", "right"} {
		go func() {
			reply, err := tcp.Request(loopback, port, word, tcp.ClientConfig{Timeout: 5 * time.Second})
			if err != nil {
				reply = err.Error()
			}
			replies <- reply
		}()
	}
	got := []string{<-replies, <-replies}
	slices.Sort(got)
	fmt.Println("Received:", strings.Join(got, ", "))
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: left, right
	// server: <nil>
}

// The robust select server: MaxClients caps the clients it serves at
// once, below FD_SETSIZE.
func ExampleServeSelect() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeSelect(ctx, listenfd, tcp.Config{Quiet: true, MaxClients: 100}) }()

	reply, err := tcp.Request(loopback, port, "selected", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: selected
	// server: <nil>
}

// The tutorial's fragile select server serves nobody until Config.Clients
// connections are in: here one is enough.
func ExampleServeSelectFaithful() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeSelectFaithful(ctx, listenfd, tcp.Config{Quiet: true, Clients: 1}) }()

	reply, err := tcp.Request(loopback, port, "faithful", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: faithful
	// server: <nil>
}

// The poll server has no descriptor ceiling; Idle closes a client silent
// that long.
func ExampleServePoll() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServePoll(ctx, listenfd, tcp.Config{Quiet: true, Idle: time.Minute}) }()

	reply, err := tcp.Request(loopback, port, "polled", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: polled
	// server: <nil>
}

// The epoll server runs one edge-triggered loop per SO_REUSEPORT socket
// of one port; ListenReusePort makes the sockets.
func ExampleServeEpoll() {
	listenfds, port, err := tcp.ListenReusePort(0, 2, tcp.Somaxconn())
	if err != nil {
		log.Fatal(err)
	}
	for _, fd := range listenfds {
		defer sys.Close(fd)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServeEpoll(ctx, listenfds, tcp.Config{Quiet: true}) }()

	for _, word := range []string{"edge", "triggered"} {
		reply, err := tcp.Request(loopback, port, word, tcp.ClientConfig{Timeout: 5 * time.Second})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("Received:", reply)
	}
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: edge
	// Received: triggered
	// server: <nil>
}

// The net twin of the one-at-a-time server; closing the listener stops it.
func ExampleServeIterativeNet() {
	l, port, err := tcp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- tcp.ServeIterativeNet(l, tcp.Config{Log: os.Stdout}) }()

	reply, err := tcp.RequestNet("127.0.0.1", port, "hello", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	l.Close()
	fmt.Println("server:", <-done)
	// Output:
	// Client connected: 127.0.0.1
	// Received: hello
	// server: <nil>
}

// The idiomatic Go server: net.Listen and a goroutine per connection.
func ExampleServeThreadNet() {
	l, port, err := tcp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- tcp.ServeThreadNet(l, tcp.Config{Quiet: true}) }()

	reply, err := tcp.RequestNet("127.0.0.1", port, "goroutine", tcp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	l.Close()
	fmt.Println("server:", <-done)
	// Output:
	// Received: goroutine
	// server: <nil>
}

// Request takes a dotted quad, as the C client does; with nobody
// listening, the error is the tutorial's message and the system's reason.
func ExampleRequest() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	sys.Close(listenfd) // nothing listens on port now

	_, err = tcp.Request(loopback, port, "hello", tcp.ClientConfig{Timeout: time.Second})
	fmt.Println(err)
	// Output:
	// Failed to connect with server: connect: connection refused
}

// RequestNet resolves a host name; a server that closes before echoing
// every byte is ErrShortEcho, and the reply holds what did come back.
func ExampleRequestNet() {
	l, port, err := tcp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() { // a server that reads 5 bytes, answers 2 and hangs up
		conn, err := l.AcceptTCP()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 5)
		if _, err := io.ReadFull(conn, buf); err == nil {
			conn.Write(buf[:2])
		}
	}()

	reply, err := tcp.RequestNet("localhost", port, "hello", tcp.ClientConfig{Timeout: 5 * time.Second})
	fmt.Printf("%q %v\n", reply, errors.Is(err, tcp.ErrShortEcho))
	fmt.Println(err)
	// Output:
	// "he" true
	// server closed before echoing every byte: 2 of 5
}

// The tutorial's slow client: three connections dribble their messages a
// byte at a time; they finish in any order, sorted here.
func ExampleSlowClient() {
	listenfd, port, err := tcp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(listenfd)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tcp.ServePoll(ctx, listenfd, tcp.Config{Quiet: true}) }()

	var out strings.Builder
	cfg := tcp.SlowConfig{Clients: 3, Delay: time.Millisecond, Timeout: 5 * time.Second, Out: &out}
	if err := tcp.SlowClient(loopback, port, "Hello world", cfg); err != nil {
		log.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	stop()
	fmt.Println("server:", <-done)
	// Output:
	// Received: Hello world [0]
	// Received: Hello world [1]
	// Received: Hello world [2]
	// server: <nil>
}

// The net slow client; against no server every connection fails, and
// the error says so with the first one's reason.
func ExampleSlowClientNet() {
	l, port, err := tcp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	l.Close() // nothing listens on port now

	err = tcp.SlowClientNet("127.0.0.1", port, "x", tcp.SlowConfig{Clients: 2, Delay: time.Millisecond})
	var all *tcp.AllFailedError
	if errors.As(err, &all) {
		fmt.Println(all.Clients, "connections failed")
	}
	fmt.Println(err)
	// Output:
	// 2 connections failed
	// every one of the 2 clients failed; first: Failed to connect with server: connect: connection refused
}

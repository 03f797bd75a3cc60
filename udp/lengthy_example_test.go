package udp_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// ask sends one request to the server on port and prints the reply.
func ask(port int, word string) {
	reply, err := udp.Request([4]byte{127, 0, 0, 1}, port, word, udp.ClientConfig{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
}

// serve runs one lengthy server on a free port for one request.
func serve(run func(fd int, cfg udp.LengthyConfig) error, word string) {
	fd, port, err := udp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error)
	go func() { done <- run(fd, udp.LengthyConfig{Delay: 10 * time.Millisecond, Log: os.Stdout}) }()
	ask(port, word)
	udp.Stop(fd)
	fmt.Println("server:", <-done)
}

// One request at a time: the tutorial's first lengthy-action server.
func ExampleServeIterative() {
	serve(udp.ServeIterative, "one at a time")
	// Output:
	// Client connected: 127.0.0.1
	// Received: ONE AT A TIME
	// server: <nil>
}

// A goroutine per request, as the tutorial's threading server starts a
// thread per request.
func ExampleServeThread() {
	serve(udp.ServeThread, "threaded")
	// Output:
	// Client connected: 127.0.0.1
	// Received: THREADED
	// server: <nil>
}

// A real fork(2) per request: the child sleeps, upper-cases, replies and
// exits; the server reaps it.
func ExampleServeFork() {
	serve(udp.ServeFork, "forked")
	// Output:
	// Client connected: 127.0.0.1
	// Received: FORKED
	// server: <nil>
}

// One goroutine, epoll and a timerfd per request.
func ExampleServeAsync() {
	serve(udp.ServeAsync, "asynchronous")
	// Output:
	// Client connected: 127.0.0.1
	// Received: ASYNCHRONOUS
	// server: <nil>
}

// The threaded server on package net, stopped by a read deadline.
func ExampleServeThreadNet() {
	conn, port, err := udp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	done := make(chan error)
	go func() { done <- udp.ServeThreadNet(conn, udp.LengthyConfig{Delay: 10 * time.Millisecond, Quiet: true}) }()
	ask(port, "net")
	udp.StopLengthyNet(conn)
	fmt.Println("server:", <-done)
	// Output:
	// Received: NET
	// server: <nil>
}

// The re-exec'ing models run a program again in a child role: the server
// names the program in Command and appends the role and its facts; the
// program looks at its first argument before anything else and plays the
// role on the socket it inherited as ChildFD. socklab itself is such a
// program.
func ExampleServeForkExec() {
	if len(os.Args) > 1 && os.Args[1] == udp.RoleChild { // a re-exec'd child: answer, exit
		delay, client, request, err := udp.ParseChildArgs(os.Args[2:])
		if err != nil {
			log.Fatal(err)
		}
		if err := udp.ServeRequest(udp.ChildFD, request, &client, delay); err != nil {
			log.Fatal(err)
		}
		os.Exit(0)
	}
	fd, _, err := udp.Listen(7777)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	cfg := udp.LengthyConfig{Delay: 5 * time.Second, Command: []string{"/proc/self/exe"}, Log: os.Stderr}
	if err := udp.ServeForkExec(fd, cfg); err != nil { // ServePrefork's workers: RoleWorker
		log.Fatal(err)
	}
}

// Twenty requests at once, each with its own message, against a threaded
// server: the delays overlap.
func ExampleStress() {
	fd, port, err := udp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error)
	go func() { done <- udp.ServeThread(fd, udp.LengthyConfig{Delay: 100 * time.Millisecond, Quiet: true}) }()

	res := udp.Stress([4]byte{127, 0, 0, 1}, port, "Hello world", udp.StressConfig{Clients: 20, Timeout: 5 * time.Second})
	fmt.Println("right replies:", res.Replies, "error:", res.Err())
	fmt.Println("within two delays:", res.Elapsed < 200*time.Millisecond)
	udp.Stop(fd)
	fmt.Println("server:", <-done)
	// Output:
	// right replies: 20 error: <nil>
	// within two delays: true
	// server: <nil>
}

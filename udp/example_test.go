package udp_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// The raw server and client in one process: Listen on a free port, serve
// with Echo, ask with Request, stop with Stop.
func ExampleEcho() {
	fd, port, err := udp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error)
	go func() { done <- udp.Echo(fd, udp.EchoConfig{Log: os.Stdout}) }()

	reply, err := udp.Request([4]byte{127, 0, 0, 1}, port, "hello", udp.ClientConfig{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	udp.Stop(fd)
	fmt.Println("server:", <-done)
	// Output:
	// Client connected: 127.0.0.1
	// Received: hello
	// server: <nil>
}

// The batched server answers like Echo, with recvmmsg and sendmmsg.
func ExampleEchoBatch() {
	fd, port, err := udp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error)
	go func() { done <- udp.EchoBatch(fd, udp.EchoConfig{Batch: 32, Quiet: true}) }()

	reply, err := udp.Request([4]byte{127, 0, 0, 1}, port, "batched", udp.ClientConfig{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	udp.Stop(fd)
	fmt.Println("server:", <-done)
	// Output:
	// Received: batched
	// server: <nil>
}

// The net twins: ListenNet and EchoNet serve, RequestNet resolves a name
// and asks; closing the conn stops the server.
func ExampleEchoNet() {
	conn, port, err := udp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- udp.EchoNet(conn, udp.EchoConfig{Log: os.Stdout}) }()

	reply, err := udp.RequestNet("localhost", port, "hello", udp.ClientConfig{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Received:", reply)
	conn.Close()
	fmt.Println("server:", <-done)
	// Output:
	// Client connected: 127.0.0.1
	// Received: hello
	// server: <nil>
}

// A client that does not wait forever: 200 ms for each reply, two more
// tries, then ErrNoReply. Here nothing answers on the port.
func ExampleRequest() {
	fd, port, err := udp.Listen(0) // bound, so the port is ours, but never served
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	_, err = udp.Request([4]byte{127, 0, 0, 1}, port, "anyone?",
		udp.ClientConfig{Timeout: 200 * time.Millisecond, Retries: 2})
	fmt.Println(errors.Is(err, udp.ErrNoReply))
	// Output:
	// true
}

// The net client takes a host name, as the tutorial's Python client does.
func ExampleRequestNet() {
	conn, port, err := udp.ListenNet(0)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	go udp.EchoNet(conn, udp.EchoConfig{Quiet: true})
	reply, err := udp.RequestNet("localhost", port, "by name", udp.ClientConfig{Timeout: time.Second})
	fmt.Println(reply, err)
	// Output:
	// by name <nil>
}

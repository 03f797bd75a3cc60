package udp_test

import (
	"fmt"
	"log"
	"os"

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

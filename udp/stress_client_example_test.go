package udp_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// The net stress client reaches the server by name, as the tutorial's
// Python client does; the threaded server answers the three requests in
// whatever order their delays end.
func ExampleStressNet() {
	fd, port, err := udp.Listen(0)
	if err != nil {
		log.Fatal(err)
	}
	defer sys.Close(fd)
	done := make(chan error)
	go func() { done <- udp.ServeThread(fd, udp.LengthyConfig{Delay: 50 * time.Millisecond, Quiet: true}) }()

	res := udp.StressNet("localhost", port, "by name", udp.StressConfig{Clients: 3, Timeout: 5 * time.Second, Out: os.Stdout})
	fmt.Println("right replies:", res.Replies, "error:", res.Err())
	udp.Stop(fd)
	fmt.Println("server:", <-done)
	// Unordered output:
	// Received: BY NAME [0]
	// Received: BY NAME [1]
	// Received: BY NAME [2]
	// right replies: 3 error: <nil>
	// server: <nil>
}

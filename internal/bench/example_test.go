package bench_test

import (
	"context"
	"fmt"
	"time"

	"github.com/socklab/socklab/internal/bench"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// Load the raw UDP echo server with 1000 datagrams, 8 in flight.
func ExampleUDP() {
	fd, port, err := udp.Listen(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(fd)
	done := make(chan error, 1)
	go func() { done <- udp.Echo(fd, udp.EchoConfig{BufSize: 255, Quiet: true}) }()
	defer func() { udp.Stop(fd); <-done }()

	r, err := bench.UDP(context.Background(), bench.Config{
		Server: [4]byte{127, 0, 0, 1}, Port: port, Window: 8, Count: 1000, Duration: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("sent %d, echoed %d, lost %d; p50 > 0: %v\n", r.Sent, r.Received, r.Lost, r.Latency.P50 > 0)
	// Output: sent 1000, echoed 1000, lost 0; p50 > 0: true
}

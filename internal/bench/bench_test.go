package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/tcp"
	"github.com/socklab/socklab/udp"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var loopback = [4]byte{127, 0, 0, 1}

// udpServer starts an in-process echo server: the raw udp.Echo, or serve
// (a misbehaving one written here) on the socket. It is stopped at cleanup.
func udpServer(t testing.TB, serve func(fd int) error) int {
	t.Helper()
	fd, port, err := udp.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	if serve == nil {
		serve = func(fd int) error { return udp.Echo(fd, udp.EchoConfig{BufSize: udp.MaxBufSize, Quiet: true}) }
	}
	done := make(chan error, 1)
	go func() { done <- serve(fd) }()
	t.Cleanup(func() {
		udp.Stop(fd)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("UDP server did not stop within 5s")
		}
		sys.Close(fd)
	})
	return port
}

// tcpServer starts the raw thread-per-connection echo server in-process.
func tcpServer(t testing.TB) int {
	t.Helper()
	thread, _ := tcp.Lookup("thread", false)
	srv, err := thread.Start(tcp.Config{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopped := make(chan error, 1)
		go func() { stopped <- srv.Stop() }()
		select {
		case err := <-stopped:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Error("TCP server did not stop within 5s")
		}
	})
	return srv.Port
}

// udpFaulty is a UDP echo server that hands each datagram to mangle, which
// returns what to send back (nil: nothing).
func udpFaulty(mangle func(n int, p []byte) []byte) func(fd int) error {
	return func(fd int) error {
		buf := make([]byte, 65536)
		for n := 1; ; n++ {
			var from sys.SockaddrIn
			fromlen := sys.SizeofSockaddrIn
			m, err := sys.Recvfrom(fd, buf, 0, &from, &fromlen)
			if err != nil || fromlen == 0 {
				return err // stopped
			}
			if out := mangle(n, buf[:m]); out != nil {
				sys.Sendto(fd, out, unix.MSG_DONTWAIT, &from)
			}
		}
	}
}

func TestMessage(t *testing.T) {
	for _, size := range []int{16, 17, 23, 24, 64, 1000} {
		p := make([]byte, size)
		fill(p, 3, 7, 42)
		if off, _ := diff(p, 3, 7, 42); off != -1 {
			t.Fatalf("size %d: fresh message differs at %d", size, off)
		}
		for i := range p {
			p[i] ^= 0x10
			off, want := diff(p, 3, 7, 42)
			if off != i || want != p[i]^0x10 {
				t.Fatalf("size %d: byte %d flipped, diff says %d (want %#x)", size, i, off, want)
			}
			p[i] ^= 0x10
		}
		q := make([]byte, size)
		fill(q, 3, 7, 43)
		if size > HeaderSize && string(p[HeaderSize:]) == string(q[HeaderSize:]) {
			t.Fatalf("size %d: messages 42 and 43 share their pattern", size)
		}
	}
}

func TestUDPCounts(t *testing.T) {
	port := udpServer(t, nil)
	for _, tc := range []struct{ conns, window, size int }{{1, 1, 16}, {1, 8, 64}, {4, 4, 1000}} {
		r, err := UDP(context.Background(), Config{Server: loopback, Port: port, Conns: tc.conns,
			Window: tc.window, Size: tc.size, Count: 2000, Duration: 10 * time.Second, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sent != 2000 || r.Received != 2000 || r.Lost != 0 || r.Late != 0 {
			t.Errorf("%+v: sent %d, received %d, lost %d, late %d; want 2000 echoed", tc, r.Sent, r.Received, r.Lost, r.Late)
		}
		if r.Histogram.TotalCount() != r.Received || r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P999 ||
			r.Latency.P999 < r.Latency.P99 || r.Latency.P99 < r.Latency.P50 {
			t.Errorf("%+v: latency %+v from %d samples", tc, r.Latency, r.Histogram.TotalCount())
		}
		if r.MsgsPerSec <= 0 || math.Abs(r.BytesPerSec/(r.MsgsPerSec*float64(tc.size))-1) > 1e-9 {
			t.Errorf("%+v: %v msg/s, %v B/s", tc, r.MsgsPerSec, r.BytesPerSec)
		}
	}
}

func TestTCPCounts(t *testing.T) {
	port := tcpServer(t)
	// The server sends 32 bytes at a time with Nagle on: past 32 bytes a
	// message waits for the client's delayed ACK unless QuickAck is set.
	for _, tc := range []struct {
		conns, window, size int
		quickack            bool
	}{{1, 1, 16, false}, {1, 8, 32, false}, {1, 8, 64, true}, {3, 4, 5000, true}} {
		r, err := TCP(context.Background(), Config{Server: loopback, Port: port, Conns: tc.conns,
			Window: tc.window, Size: tc.size, Count: 1000, Duration: 10 * time.Second, QuickAck: tc.quickack})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sent != 1000 || r.Received != 1000 || r.Lost != 0 {
			t.Errorf("%+v: sent %d, received %d, lost %d; want 1000 echoed", tc, r.Sent, r.Received, r.Lost)
		}
		if r.Histogram.TotalCount() != 1000 || r.Latency.P50 <= 0 {
			t.Errorf("%+v: latency %+v", tc, r.Latency)
		}
	}
}

func TestDuration(t *testing.T) {
	port := udpServer(t, nil)
	start := time.Now()
	r, err := UDP(context.Background(), Config{Server: loopback, Port: port, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second || r.Elapsed < 200*time.Millisecond {
		t.Errorf("a 200ms run took %v (elapsed %v)", el, r.Elapsed)
	}
	if r.Received == 0 || r.Sent != r.Received+r.Lost {
		t.Errorf("sent %d, received %d, lost %d", r.Sent, r.Received, r.Lost)
	}
}

func TestCancel(t *testing.T) {
	port := tcpServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := TCP(ctx, Config{Server: loopback, Port: port, Duration: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
	if el := time.Since(start); el > 3*time.Second || r.Received == 0 || r.Received != r.Sent {
		t.Errorf("cancelled after %v: sent %d, received %d", el, r.Sent, r.Received)
	}
}

func TestWrongEcho(t *testing.T) {
	var old []byte
	cases := map[string]func(n int, p []byte) []byte{
		"flipped byte": func(n int, p []byte) []byte {
			if n == 50 {
				p[len(p)-3] ^= 1
			}
			return p
		},
		"flipped header": func(n int, p []byte) []byte {
			if n == 50 {
				p[0] ^= 0x80
			}
			return p
		},
		"old message": func(n int, p []byte) []byte {
			if n == 50 {
				return old
			}
			old = append(old[:0], p...)
			return p
		},
		"short": func(n int, p []byte) []byte {
			if n == 50 {
				return p[:len(p)-1]
			}
			return p
		},
		"long": func(n int, p []byte) []byte {
			if n == 50 {
				return append(p, 0)
			}
			return p
		},
		"other connection": func(n int, p []byte) []byte {
			if n == 50 {
				binary.LittleEndian.PutUint32(p[8:], 1)
			}
			return p
		},
	}
	for name, mangle := range cases {
		t.Run(name, func(t *testing.T) {
			port := udpServer(t, udpFaulty(mangle))
			r, err := UDP(context.Background(), Config{Server: loopback, Port: port, Window: 4, Count: 200, Timeout: time.Second})
			if !errors.Is(err, ErrWrongEcho) {
				t.Fatalf("err %v, want ErrWrongEcho", err)
			}
			if r.Received < 40 || r.Received >= 50 {
				t.Errorf("received %d before the wrong echo, want 46 to 49", r.Received)
			}
			t.Log(err)
		})
	}
}

func TestUDPLoss(t *testing.T) {
	port := udpServer(t, udpFaulty(func(n int, p []byte) []byte {
		if n%10 == 0 {
			return nil // every tenth is dropped
		}
		return p
	}))
	start := time.Now()
	r, err := UDP(context.Background(), Config{Server: loopback, Port: port, Window: 8, Count: 500, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 500 || r.Lost != 50 || r.Received != 450 {
		t.Errorf("sent %d, received %d, lost %d; want 500, 450, 50", r.Sent, r.Received, r.Lost)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestUDPLate(t *testing.T) {
	var held []byte
	port := udpServer(t, udpFaulty(func(n int, p []byte) []byte {
		switch n {
		case 5:
			held = append(held, p...) // not now: it is counted lost
			return nil
		case 6:
			return held // late, instead of message 6 (lost too)
		}
		return p
	}))
	r, err := UDP(context.Background(), Config{Server: loopback, Port: port, Window: 1, Count: 20, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 20 || r.Received != 18 || r.Lost != 2 || r.Late != 1 {
		t.Errorf("sent %d, received %d, lost %d, late %d; want 20, 18, 2, 1", r.Sent, r.Received, r.Lost, r.Late)
	}
}

// The steady-state loop allocates nothing: each step waits, receives,
// checks, records and sends again.
func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	cfg := Config{Server: loopback, Conns: 2, Window: 8, Size: 100, Duration: time.Hour, Timeout: time.Hour, QuickAck: true}
	t.Run("udp", func(t *testing.T) {
		cfg.Port = udpServer(t, nil)
		u, err := newUDPRun(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer u.close()
		u.base = time.Now()
		if err := u.start(0); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := u.step(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 || u.received < 2000 {
			t.Errorf("%v allocations a step, %d echoes in 2000 steps", allocs, u.received)
		}
	})
	t.Run("tcp", func(t *testing.T) {
		cfg.Port = tcpServer(t)
		tr, err := newTCPRun(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.close()
		tr.base = time.Now()
		if err := tr.start(0); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := tr.step(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 || tr.received < 2000 {
			t.Errorf("%v allocations a step, %d echoes in 2000 steps", allocs, tr.received)
		}
	})
}

func TestRefused(t *testing.T) {
	fd, port, err := udp.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	sys.Close(fd) // nothing listens on port now
	_, err = UDP(context.Background(), Config{Server: loopback, Port: port, Duration: time.Second})
	if !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("UDP: err %v, want ECONNREFUSED", err)
	}
	_, err = TCP(context.Background(), Config{Server: loopback, Port: port, Duration: time.Second})
	if !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("TCP: err %v, want ECONNREFUSED", err)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Server: [4]byte{10, 0, 0, 1}, Port: 7},
		{Server: loopback, Port: 0},
		{Server: loopback, Port: 7, Size: 15},
		{Server: loopback, Port: 7, Size: MaxUDPSize + 1},
		{Server: loopback, Port: 7, Window: -1},
		{Server: loopback, Port: 7, Conns: MaxConns + 1},
		{Server: loopback, Port: 7, Count: -1},
		{Server: loopback, Port: 7, Duration: -time.Second},
	} {
		_, err := UDP(context.Background(), cfg)
		if !errors.Is(err, ErrConfig) && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%+v: err %v, want ErrConfig or ErrNotLoopback", cfg, err)
		}
	}
	_, err := TCP(context.Background(), Config{Server: loopback, Port: 7, Conns: 1000, Window: 1000, Size: 10000})
	if !errors.Is(err, ErrConfig) {
		t.Errorf("a 10 GB window: err %v, want ErrConfig", err)
	}
}

package bench

import (
	"errors"
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/socklab/socklab/sys"
)

// Limits and defaults of Config.
const (
	DefaultConns    = 1
	DefaultSize     = 64
	DefaultWindow   = 32
	DefaultDuration = 5 * time.Second
	DefaultUDPLoss  = 200 * time.Millisecond // Timeout for UDP: unanswered this long is lost
	DefaultTCPStall = 2 * time.Second        // Timeout for TCP: silent this long is an error

	MaxConns   = 10000
	MaxWindow  = 1 << 16
	MaxUDPSize = 65507   // the largest UDP payload over IPv4
	MaxTCPSize = 1 << 20 // one message
	MaxBuffers = 1 << 30 // TCP keeps conns*window*size bytes until they are echoed

	maxBatch   = 1024                    // datagrams a recvmmsg or sendmmsg call
	maxLatency = int64(60 * time.Second) // histogram ceiling; longer is recorded as this
)

var (
	// ErrConfig is wrapped by the error for a Config that cannot run: a
	// size, window or count out of range. Nothing has been sent.
	ErrConfig = errors.New("invalid bench configuration")
	// ErrNotLoopback is wrapped by the error for a target outside
	// 127.0.0.0/8 when Config.AllowRemote is not set.
	ErrNotLoopback = errors.New("not a loopback address")
	// ErrWrongEcho is wrapped by the error for an echo that is not the
	// message sent: a byte differs, the length differs, it belongs to
	// another connection, or it answers a message not in flight.
	ErrWrongEcho = errors.New("wrong echo")
	// ErrServerClosed is wrapped by the error for a TCP server that
	// closed a connection, or stopped echoing on it for Config.Timeout.
	ErrServerClosed = errors.New("server stopped echoing")
)

// Config is one run of UDP or TCP. The zero value of each field but Server
// and Port takes its default.
type Config struct {
	Server [4]byte // IPv4 address, as sys.InetAddr returns it
	Port   int

	Conns  int // sockets (UDP) or connections (TCP); DefaultConns
	Size   int // message bytes, HeaderSize to MaxUDPSize or MaxTCPSize; DefaultSize
	Window int // messages in flight on each connection; DefaultWindow

	// The run stops sending after Duration (DefaultDuration) or once Count
	// messages have been sent in all (0: no count), whichever comes
	// first, then waits at most Timeout for the messages in flight.
	Duration time.Duration
	Count    int64

	// Timeout is how long a UDP datagram may stay unanswered before it is
	// counted lost (DefaultUDPLoss), or how long a TCP connection with
	// messages in flight may stay silent before the run fails
	// (DefaultTCPStall).
	Timeout time.Duration

	// QuickAck (TCP) sets TCP_QUICKACK after every recv, so that the
	// client acknowledges at once. The tutorial's servers send 32 bytes at
	// a time with Nagle's algorithm on, so for messages over 32 bytes their
	// second send waits for the client's delayed ACK (about 40 ms on
	// Linux); QuickAck measures the server without that wait.
	QuickAck bool

	AllowRemote bool // bench a target outside 127.0.0.0/8
}

// Result is what a run measured. Counts are messages; a UDP run ends with
// Sent == Received + Lost.
type Result struct {
	Proto    string `json:"proto"` // "udp" or "tcp"
	Server   string `json:"server"`
	Conns    int    `json:"conns"`
	Size     int    `json:"size"`
	Window   int    `json:"window"`
	Sent     int64  `json:"sent"`
	Received int64  `json:"received"` // echoed intact, in time
	Lost     int64  `json:"lost"`     // UDP: unanswered within Timeout
	Late     int64  `json:"late"`     // UDP: answered after being counted lost

	// Elapsed runs from the first send to the later of the last echo and
	// the moment sending stopped.
	Elapsed     time.Duration `json:"elapsed_ns"`
	MsgsPerSec  float64       `json:"msgs_per_sec"`
	BytesPerSec float64       `json:"bytes_per_sec"` // echoed payload, one way
	Latency     Latency       `json:"latency"`

	// Histogram holds every round trip of Received, in nanoseconds.
	Histogram *hdrhistogram.Histogram `json:"-"`
}

// Latency summarises the round trips of a run, from the send call to the
// receive call that returned the echo.
type Latency struct {
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
}

// withDefaults checks c and fills in its defaults.
func (c Config) withDefaults(proto string) (Config, error) {
	if c.Server[0] != 127 && !c.AllowRemote {
		return c, fmt.Errorf("refusing to bench %s: %w (127.0.0.0/8); pass --allow-remote for a host you own",
			sys.InetNtoa(c.Server), ErrNotLoopback)
	}
	maxSize := MaxUDPSize
	if proto == "tcp" {
		maxSize = MaxTCPSize
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Conns, DefaultConns)
	def(&c.Size, DefaultSize)
	def(&c.Window, DefaultWindow)
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultUDPLoss
		if proto == "tcp" {
			c.Timeout = DefaultTCPStall
		}
	}
	switch {
	case c.Port < 1 || c.Port > 65535:
		return c, fmt.Errorf("%w: port %d: want 1 to 65535", ErrConfig, c.Port)
	case c.Conns < 1 || c.Conns > MaxConns:
		return c, fmt.Errorf("%w: conns %d: want 1 to %d", ErrConfig, c.Conns, MaxConns)
	case c.Size < HeaderSize || c.Size > maxSize:
		return c, fmt.Errorf("%w: size %d: want %d (the message header) to %d", ErrConfig, c.Size, HeaderSize, maxSize)
	case c.Window < 1 || c.Window > MaxWindow:
		return c, fmt.Errorf("%w: window %d: want 1 to %d", ErrConfig, c.Window, MaxWindow)
	case c.Duration < 0:
		return c, fmt.Errorf("%w: duration %v: must be positive", ErrConfig, c.Duration)
	case c.Count < 0:
		return c, fmt.Errorf("%w: count %d: must not be negative", ErrConfig, c.Count)
	case c.Timeout < 0:
		return c, fmt.Errorf("%w: timeout %v: must be positive", ErrConfig, c.Timeout)
	case proto == "tcp" && int64(c.Conns)*int64(c.Window)*int64(c.Size) > MaxBuffers:
		return c, fmt.Errorf("%w: conns*window*size is %d MiB: the messages in flight are kept until echoed, at most %d MiB",
			ErrConfig, int64(c.Conns)*int64(c.Window)*int64(c.Size)>>20, MaxBuffers>>20)
	}
	return c, nil
}

// meter is what both loops count: the clock, the histogram, the totals.
type meter struct {
	base                       time.Time
	hist                       *hdrhistogram.Histogram
	sent, received, lost, late int64
	stopAt, lastEcho           int64 // ns since base
	stopping                   bool
}

func newMeter() meter {
	return meter{hist: hdrhistogram.New(1, maxLatency, 3)}
}

// now is the monotonic time since base, in nanoseconds.
func (m *meter) now() int64 { return int64(time.Since(m.base)) }

// echoed records one message echoed at now that was sent at sentAt.
func (m *meter) echoed(now, sentAt int64) {
	m.hist.RecordValue(min(max(now-sentAt, 1), maxLatency))
	m.received++
	m.lastEcho = now
}

func (m *meter) stop(now int64) {
	if !m.stopping {
		m.stopping, m.stopAt = true, now
	}
}

func (m *meter) result(proto string, c Config) Result {
	m.stop(m.now())
	elapsed := time.Duration(max(m.stopAt, m.lastEcho))
	r := Result{
		Proto: proto, Server: fmt.Sprintf("%s:%d", sys.InetNtoa(c.Server), c.Port),
		Conns: c.Conns, Size: c.Size, Window: c.Window,
		Sent: m.sent, Received: m.received, Lost: m.lost, Late: m.late,
		Elapsed: elapsed, Histogram: m.hist,
	}
	if s := elapsed.Seconds(); s > 0 {
		r.MsgsPerSec = float64(m.received) / s
		r.BytesPerSec = float64(m.received) * float64(c.Size) / s
	}
	if m.hist.TotalCount() > 0 {
		r.Latency = Latency{
			Min:  time.Duration(m.hist.Min()),
			Mean: time.Duration(m.hist.Mean()),
			P50:  time.Duration(m.hist.ValueAtQuantile(50)),
			P99:  time.Duration(m.hist.ValueAtQuantile(99)),
			P999: time.Duration(m.hist.ValueAtQuantile(99.9)),
			Max:  time.Duration(m.hist.Max()),
		}
	}
	return r
}

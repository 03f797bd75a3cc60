package icmp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Config configures Ping and PingNet. A zero Count, Interval or Timeout
// takes its default; a zero Size sends requests without data.
type Config struct {
	Count        int           // echo requests to send, 1 to MaxCount
	Interval     time.Duration // between requests, MinInterval to MaxInterval
	Size         int           // data bytes after the ICMP header, 0 to MaxSize (iputils sends DefaultSize)
	Timeout      time.Duration // after the last request, how long to wait for the replies still missing
	Unprivileged bool          // the ping socket (SOCK_DGRAM) instead of a raw one
	Name         string        // the destination as given, for the header; its address when empty
	AllowRemote  bool          // allow a destination outside 127.0.0.0/8 (a host you own)
	Out          io.Writer     // the reply lines and the summary; nil discards
}

// Bounds and defaults, those of iputils ping where it has them. The count
// is bounded (iputils pings until interrupted), so that every run ends.
const (
	DefaultCount    = MaxCount
	MaxCount        = 10000
	DefaultInterval = time.Second
	MinInterval     = 10 * time.Millisecond
	MaxInterval     = time.Minute
	DefaultSize     = 56
	MaxSize         = 65535 - IPv4HeaderLen - HeaderLen // 65507: the largest IPv4 datagram less the headers
	DefaultTimeout  = 10 * time.Second                  // iputils' linger time
	MinTimeout      = time.Millisecond
	MaxTimeout      = time.Minute
)

// maxTurns bounds the packets taken in one wait, so that a flood of
// strays cannot hold the loop even before the wait's deadline.
const maxTurns = 1 << 16

// ErrConfig is returned (wrapped) for a Config out of bounds.
var ErrConfig = errors.New("invalid ping configuration")

// ErrNotLoopback is returned (wrapped) for a destination outside
// 127.0.0.0/8 without AllowRemote, before anything is sent.
var ErrNotLoopback = errors.New("not a loopback address (127.0.0.0/8)")

// checkDest refuses a destination outside 127.0.0.0/8 unless allowed.
func (c Config) checkDest(dst [4]byte) error {
	if dst[0] != 127 && !c.AllowRemote {
		return fmt.Errorf("refusing to ping %d.%d.%d.%d: %w", dst[0], dst[1], dst[2], dst[3], ErrNotLoopback)
	}
	return nil
}

// ErrNoReply is for callers that treat a run without any reply as a
// failure, as iputils does (exit status 1).
var ErrNoReply = errors.New("no reply")

func (c Config) withDefaults() (Config, error) {
	if c.Count == 0 {
		c.Count = DefaultCount
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	switch {
	case c.Count < 1 || c.Count > MaxCount:
		return c, fmt.Errorf("%w: count %d, want 1 to %d", ErrConfig, c.Count, MaxCount)
	case c.Interval < MinInterval || c.Interval > MaxInterval:
		return c, fmt.Errorf("%w: interval %v, want %v to %v", ErrConfig, c.Interval, MinInterval, MaxInterval)
	case c.Size < 0 || c.Size > MaxSize:
		return c, fmt.Errorf("%w: size %d, want 0 to %d", ErrConfig, c.Size, MaxSize)
	case c.Timeout < MinTimeout || c.Timeout > MaxTimeout:
		return c, fmt.Errorf("%w: timeout %v, want %v to %v", ErrConfig, c.Timeout, MinTimeout, MaxTimeout)
	}
	return c, nil
}

// Messages for the two ways a socket is refused, shared by Open and
// ListenNet; testdata/ping.c prints the same.
const (
	needRaw = "Failed to create raw socket (it needs CAP_NET_RAW: run as root, " +
		"give the binary the capability with setcap cap_net_raw+ep, or use --unprivileged)"
	needGroup = "Failed to create ping socket (group %d is outside net.ipv4.ping_group_range, now %s; " +
		"widen it with sysctl -w net.ipv4.ping_group_range=\"%d %d\", or use a raw socket as root)"
)

// pingGroupRange returns the sysctl's value in the caller's network
// namespace, for the message.
func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return "unreadable"
	}
	return `"` + strings.Join(strings.Fields(string(b)), " ") + `"`
}

package tcp

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The slow client on the net package, the twin of slow_client.go with the
// same steps: net.Dial, Write one byte and sleep, Read one byte and sleep.
// It resolves host names, as the tutorial's Python client does. The
// connections' goroutines park in the runtime's epoll instead of holding
// a thread each.

// SlowClientNet runs the slow client against host:port.
func SlowClientNet(host string, port int, word string, cfg SlowConfig) error {
	return runSlow(word, cfg, func(message string) (string, error) {
		conn, err := dialNet(host, port, cfg.Timeout)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		deadline := func() {
			if cfg.Timeout > 0 {
				conn.SetDeadline(time.Now().Add(cfg.Timeout))
			}
		}
		for i := range len(message) {
			deadline()
			if _, err := conn.Write([]byte{message[i]}); err != nil {
				return "", fmt.Errorf("Failed to send byte %d: %w", i, err)
			}
			time.Sleep(cfg.Delay)
		}
		data := make([]byte, 0, len(message))
		var c [1]byte
		for len(data) < len(message) {
			deadline()
			if _, err := io.ReadFull(conn, c[:]); err != nil {
				if errors.Is(err, io.EOF) {
					return string(data), fmt.Errorf("%w: %d of %d", ErrShortEcho, len(data), len(message))
				}
				return string(data), fmt.Errorf("Failed to receive byte %d: %w", len(data), err)
			}
			data = append(data, c[0])
			time.Sleep(cfg.Delay)
		}
		return string(data), nil
	})
}

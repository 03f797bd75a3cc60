package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/sys"
	"github.com/socklab/socklab/udp"
)

// EchoConfig configures Echo.
type EchoConfig struct {
	Self    string        // the socklab binary, run under strace as the client
	Word    string        // what the clients send
	Timeout time.Duration // bound on every request and every traced run
}

// server is one in-process echo server of the experiment.
type server struct {
	impl string
	port int
	stop func() error
}

// Echo runs the UDP echo experiment and writes its report to w: every
// client against every server, then each client's system calls. Every
// server it starts is stopped before it returns, on success or failure.
func Echo(w io.Writer, cfg EchoConfig) (err error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	servers := make([]server, 0, 2)
	defer func() {
		for _, s := range servers {
			err = errors.Join(err, s.stop())
		}
	}()
	for _, start := range []func() (server, error){startRaw, startNet} {
		s, err := start()
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}

	fmt.Fprintf(w, "UDP echo, tutorial sections 3-5: each client asks each server once (127.0.0.1, ports chosen by the kernel)\n\n")
	fmt.Fprintf(w, "  %-6s  %-6s  %-24s  %s\n", "server", "client", "reply", "round trip")
	ccfg := udp.ClientConfig{Timeout: cfg.Timeout}
	for _, s := range servers {
		for _, client := range []string{"raw", "net"} {
			start := time.Now()
			var reply string
			var rerr error
			if client == "raw" {
				reply, rerr = udp.Request([4]byte{127, 0, 0, 1}, s.port, cfg.Word, ccfg)
			} else {
				reply, rerr = udp.RequestNet("127.0.0.1", s.port, cfg.Word, ccfg)
			}
			rtt := time.Since(start)
			if rerr != nil {
				return fmt.Errorf("%s client against the %s server: %w", client, s.impl, rerr)
			}
			fmt.Fprintf(w, "  %-6s  %-6s  %-24s  %s\n", s.impl, client, "Received: "+reply, fmtDuration(rtt))
		}
	}

	fmt.Fprintf(w, "\nWhat each client asks of the kernel (strace -f, network calls and close, sockets followed):\n")
	if err := strace.Available(); err != nil {
		fmt.Fprintf(w, "  strace is not installed; apt-get install strace to see the system calls\n")
		return nil
	}
	dir, err := os.MkdirTemp("", "socklab-lab")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, c := range []struct{ impl, file string }{
		{"raw", "udp/echo_client.go"},
		{"net", "udp/echo_client_net.go"},
	} {
		argv := []string{cfg.Self, "udp-echo-client", "--impl", c.impl, "127.0.0.1", cfg.Word, strconv.Itoa(servers[0].port)}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
		calls, out, err := strace.Run(ctx, filepath.Join(dir, c.impl+".trace"), argv, strace.ReadinessSyscalls()...)
		cancel()
		if err != nil {
			return fmt.Errorf("tracing the %s client: %w: %s", c.impl, err, strings.TrimSpace(string(out)))
		}
		fmt.Fprintf(w, "\n  %s client (%s):\n", c.impl, c.file)
		for _, s := range strace.OfProc(strace.Network(calls), 1) {
			fmt.Fprintf(w, "    %s\n", callLine(s.Call))
		}
	}
	fmt.Fprintf(w, "\nThe raw client makes its C twin's calls (udp/testdata/echo_client.c); the net twin's socket is\n"+
		"non-blocking and close-on-exec, it sets SO_BROADCAST, and it waits in the runtime's epoll.\n")
	return nil
}

var fdNote = regexp.MustCompile(`<[^<>]*>`)

// callLine is a traced call as strace prints it, without the -y notes on
// descriptors and cut to a screen's width.
func callLine(c strace.Call) string {
	s := fmt.Sprintf("%s(%s) = %s", c.Name, fdNote.ReplaceAllString(c.Args, ""), fdNote.ReplaceAllString(c.RetText, ""))
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	return s
}

func fmtDuration(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + " ms"
}

func startRaw() (server, error) {
	fd, port, err := udp.Listen(0)
	if err != nil {
		return server{}, err
	}
	done := make(chan error, 1)
	go func() { done <- udp.Echo(fd, udp.EchoConfig{Quiet: true}) }()
	return server{impl: "raw", port: port, stop: func() error {
		defer sys.Close(fd)
		if err := udp.Stop(fd); err != nil {
			return err
		}
		return <-done
	}}, nil
}

func startNet() (server, error) {
	conn, port, err := udp.ListenNet(0)
	if err != nil {
		return server{}, err
	}
	done := make(chan error, 1)
	go func() { done <- udp.EchoNet(conn, udp.EchoConfig{Quiet: true}) }()
	return server{impl: "net", port: port, stop: func() error {
		conn.Close()
		return <-done
	}}, nil
}

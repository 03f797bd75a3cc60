package lab

import (
	"context"
	"fmt"
	"syscall"

	"github.com/socklab/socklab/internal/proc"
)

// startProc starts a server the lab runs as a process of its own
// (socklab's servers and the C twins, which all print "Listening on port
// N" when given port 0), with env added to the lab's environment.
func startProc(ctx context.Context, name string, argv, env []string) (*proc.Server, error) {
	return proc.Start(ctx, name, argv, env)
}

// stopProc sends SIGTERM and waits for the server to exit. A server that
// exits 0 (socklab's) or dies of the signal (a C twin) has stopped well.
func stopProc(p *proc.Server) error {
	state, err := p.Stop(syscall.SIGTERM)
	if err != nil {
		return err
	}
	if err := proc.StoppedWell(state); err != nil {
		return fmt.Errorf("the %s server: %w: %s", p.Name, err, p.Out.Tail())
	}
	return nil
}

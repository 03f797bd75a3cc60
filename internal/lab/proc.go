package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server the lab runs as a process of its own: socklab's
// servers and the C twins, which all print "Listening on port N" when
// given port 0.
type proc struct {
	name string
	cmd  *exec.Cmd
	port int
	done chan struct{} // stderr is drained and closed

	mu   sync.Mutex
	tail []string // the last lines of stderr, for an error message
}

var listeningLine = regexp.MustCompile(`^Listening on port (\d+)$`)

// startProc starts argv (ending in port 0) with env added to the lab's,
// and waits at most 10 s for its port. The process dies with the lab
// (Pdeathsig), should the lab itself be killed.
func startProc(ctx context.Context, name string, argv, env []string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s server: %w", name, err)
	}
	portc := make(chan int, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() { // drained to the end: a C server prints a line per client
			line := sc.Text()
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				select {
				case portc <- n:
				default:
				}
				continue
			}
			p.mu.Lock()
			if !strings.HasPrefix(line, "Client connected") {
				p.tail = append(p.tail, line)
				if len(p.tail) > 5 {
					p.tail = p.tail[1:]
				}
			}
			p.mu.Unlock()
		}
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case p.port = <-portc:
		return p, nil
	case <-p.done:
		err = fmt.Errorf("the %s server exited before listening: %s", name, p.stderrTail())
	case <-timer.C:
		err = fmt.Errorf("the %s server did not report its port within 10 s", name)
	case <-ctx.Done():
		err = ctx.Err()
	}
	return nil, errors.Join(err, p.stop())
}

func (p *proc) stderrTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, " / ")
}

// stop sends SIGTERM and waits at most 5 s for the process to exit, then
// kills it. A server that exits 0 on SIGTERM (socklab's) or dies of it or
// of a Ctrl-C's SIGINT (a C twin) has stopped well.
func (p *proc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { <-p.done; waited <- p.cmd.Wait() }()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	var err error
	select {
	case err = <-waited:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-waited
		return fmt.Errorf("the %s server did not stop within 5 s of SIGTERM; killed", p.name)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGINT) {
			return nil
		}
		return fmt.Errorf("the %s server: %w: %s", p.name, err, p.stderrTail())
	}
	return err
}

// exited reports whether the process has ended by itself.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/testenv"
)

// socklabBin is the socklab binary built once for this test binary, and
// crefs builds the C twins, each once.
var (
	socklabBin string
	crefs      *cref.Builder
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "socklab-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	socklabBin = filepath.Join(dir, "socklab")
	crefs = cref.New(dir)
	out, err := exec.Command("go", "build", "-o", socklabBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building socklab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a server process started by a test.
type proc struct {
	cmd    *exec.Cmd
	port   int
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (p *proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startServer starts argv (which must end in port 0), waits for its
// "Listening on port N" line and returns it. The process is killed at the
// end of the test if the test did not stop it.
func startServer(t testing.TB, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	portc := make(chan int, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				portc <- n
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	select {
	case p.port = <-portc:
	case <-p.done:
		t.Fatalf("%v exited before listening: %s", argv, p.Stderr())
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not report its port within 10s: %s", argv, p.Stderr())
	}
	return p
}

// stop sends sig and returns the exit status, failing the test if the
// process does not exit within 5 s.
func (p *proc) stop(t testing.TB, sig syscall.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	waited := make(chan error, 1)
	go func() { <-p.done; waited <- p.cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-waited
		t.Fatalf("%v did not exit within 5s of %v", p.cmd.Args, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// result is what a finished command printed and returned.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// runCmd runs argv to completion, killing it after limit.
func runCmd(t testing.TB, limit time.Duration, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%v still running after %v (hang): stderr %q", argv, limit, r.stderr)
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%v: %v", argv, err)
		}
	}
	r.code = cmd.ProcessState.ExitCode()
	return r
}

func socklab(args ...string) []string { return append([]string{socklabBin}, args...) }

// cBinary builds the C twin at src (relative to the module root) and
// returns its path.
func cBinary(t testing.TB, src string) string {
	t.Helper()
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "a C compiler (apt-get install gcc)", err)
	}
	path, err := crefs.Build(filepath.Join("..", "..", src))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

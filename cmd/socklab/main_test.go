package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/proc"
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

// server is a server process started by a test.
type server struct{ *proc.Server }

// Stderr returns what the server has printed.
func (s server) Stderr() string { return s.Out.String() }

// startServer starts argv (which must end in port 0) and returns it once
// it has printed "Listening on port N". The process is killed at the end
// of the test if the test did not stop it.
func startServer(t testing.TB, argv ...string) server {
	t.Helper()
	return startServerEnv(t, nil, argv...)
}

// startServerEnv is startServer with env added to the environment.
func startServerEnv(t testing.TB, env []string, argv ...string) server {
	t.Helper()
	s, err := proc.Start(context.Background(), filepath.Base(argv[0]), argv, env)
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	t.Cleanup(s.Kill)
	return server{s}
}

// stop sends sig and returns the exit status (-1 for death by a signal),
// failing the test if the process does not exit within proc.StopTimeout.
func (s server) stop(t testing.TB, sig syscall.Signal) int {
	t.Helper()
	state, err := s.Stop(sig)
	if err != nil {
		t.Fatalf("%v: %v", s.Cmd.Args, err)
	}
	return state.ExitCode()
}

// timedStop is stop, and how long the server took to exit.
func (s server) timedStop(t testing.TB, sig syscall.Signal) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	code := s.stop(t, sig)
	return code, time.Since(start)
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

package cref

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Compiler is the C compiler Build runs, looked up on PATH.
const Compiler = "cc"

// Pthread is the extra flag for C references that create threads.
const Pthread = "-pthread"

// Flags returns the flags every C reference is compiled with, before the
// output and source arguments.
func Flags() []string {
	return []string{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"}
}

// Available reports whether Compiler is on PATH; tests pass a non-nil
// error to testenv.Missing.
func Available() error {
	if _, err := exec.LookPath(Compiler); err != nil {
		return fmt.Errorf("cref: %w", err)
	}
	return nil
}

// A Builder compiles C sources into a directory its caller owns (usually a
// temporary directory made in TestMain and removed after the tests run).
// Each distinct source and flag list is compiled at most once; later calls,
// including concurrent ones, wait for and share that result, failures too.
// A Builder is safe for concurrent use.
type Builder struct {
	dir string

	mu     sync.Mutex
	builds map[string]*build // key: source path and flags
}

// build is one compilation; done is closed when path and err are set.
type build struct {
	done chan struct{}
	path string
	err  error
}

// New returns a Builder that writes its binaries into dir.
func New(dir string) *Builder {
	return &Builder{dir: dir, builds: make(map[string]*build)}
}

// Build compiles src with Flags and extraFlags and returns the path of the
// binary. The first call for a given src and extraFlags runs the compiler;
// later calls return the same path and error without running it again.
// A failed build's error carries the compiler's output.
func (b *Builder) Build(src string, extraFlags ...string) (string, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", fmt.Errorf("cref: %w", err)
	}
	key := strings.Join(append([]string{abs}, extraFlags...), "\x00")

	b.mu.Lock()
	bd, ok := b.builds[key]
	if !ok {
		if b.builds == nil {
			b.builds = make(map[string]*build)
		}
		bd = &build{done: make(chan struct{})}
		b.builds[key] = bd
	}
	b.mu.Unlock()

	if ok {
		<-bd.done // another caller compiles, or has compiled, this source
		return bd.path, bd.err
	}
	bd.path, bd.err = b.compile(abs, key, extraFlags)
	close(bd.done)
	return bd.path, bd.err
}

// compile runs the compiler once. The binary is named after the source with
// a hash of key, so that two echo_server.c in different directories, or one
// source with different flags, do not overwrite each other.
func (b *Builder) compile(src, key string, extraFlags []string) (string, error) {
	if b.dir == "" {
		return "", errors.New("cref: Builder has no directory (use cref.New)")
	}
	sum := sha256.Sum256([]byte(key))
	name := strings.TrimSuffix(filepath.Base(src), ".c") + "-" + hex.EncodeToString(sum[:4])
	out := filepath.Join(b.dir, name)

	args := append(Flags(), "-o", out, src)
	args = append(args, extraFlags...) // after the source, so that -l links
	cmd := exec.Command(Compiler, args...)
	output, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cref: %s %s: %w\n%s",
			Compiler, strings.Join(args, " "), err, strings.TrimSpace(string(output)))
	}
	if _, err := os.Stat(out); err != nil {
		return "", fmt.Errorf("cref: %s wrote no binary: %w", Compiler, err)
	}
	return out, nil
}

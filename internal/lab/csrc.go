package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The C twins are not in the binary: E4 compiles them from a socklab
// checkout, found in this order: Config.Src; the working directory or one
// above it holding this module's go.mod (`go run ./cmd/socklab lab` from
// the repository); the directory this file was compiled from (an
// installed binary on the machine that built it). Otherwise E4 runs
// without its C column and says why.

const modulePath = "github.com/socklab/socklab"

// findSrc returns the checkout holding the C twins, or an error saying
// where it looked.
func findSrc(src string) (string, error) {
	try := func(dir string) bool {
		if dir == "" {
			return false
		}
		_, err := os.Stat(filepath.Join(dir, "udp", "testdata", "echo_server.c"))
		return err == nil && isModule(dir)
	}
	if src != "" {
		if try(src) {
			return src, nil
		}
		return "", fmt.Errorf("%s is not a socklab checkout (no udp/testdata/echo_server.c)", src)
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if try(dir) {
				return dir, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if dir := filepath.Dir(filepath.Dir(filepath.Dir(file))); try(dir) { // internal/lab/csrc.go
			return dir, nil
		}
	}
	return "", errors.New("no socklab checkout found in the working directory or above, nor where socklab was built; run it from the repository or pass --src")
}

func isModule(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+modulePath))
}

// compileC builds src (relative to the checkout) into dir with
// cc -std=gnu11 -O2, and -pthread when asked.
func compileC(checkout, dir, src string, pthread bool) (string, error) {
	out := filepath.Join(dir, strings.TrimSuffix(strings.ReplaceAll(src, "/", "_"), ".c"))
	args := []string{"-std=gnu11", "-O2", "-o", out, filepath.Join(checkout, src)}
	if pthread {
		args = append(args, "-pthread")
	}
	b, err := exec.Command("cc", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// haveCC reports whether cc is on PATH.
func haveCC() error {
	if _, err := exec.LookPath("cc"); err != nil {
		return errors.New("no C compiler (cc) on PATH; apt-get install gcc to compare with the C twins")
	}
	return nil
}

// Package testenv holds the test-only policy for what the environment may
// lack: a privilege (CAP_NET_RAW, CAP_SYS_ADMIN) or a tool (cc, strace,
// tcpdump). Tests try the real thing first and call Missing only when it
// failed; with SOCKLAB_REQUIRE_PRIV=1 (CI sets it) a missing privilege or
// tool is a failure, not a skip, so that CI cannot go green by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether SOCKLAB_REQUIRE_PRIV=1 is set.
func Required() bool { return os.Getenv("SOCKLAB_REQUIRE_PRIV") == "1" }

// Missing skips t, or fails it when Required, saying what was needed and
// why the attempt failed.
func Missing(t testing.TB, need string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("needs %s (SOCKLAB_REQUIRE_PRIV=1): %v", need, err)
	}
	t.Skipf("skipped: needs %s: %v", need, err)
}

// Tool returns the path of an executable on PATH, or calls Missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" (apt-get install "+name+")", err)
	}
	return p
}

package testenv

import (
	"os"
	"strings"
	"testing"

	"github.com/socklab/socklab/sys"
)

// The leak check sees every kind of descriptor the servers make, the
// kinds the Go runtime also makes included.
func TestLeakedSince(t *testing.T) {
	before := openFDs()
	efd, err := sys.Eventfd(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(leakedSince(before), ", ")
	for _, want := range []string{"anon_inode:[eventfd]", "pipe:"} {
		if !strings.Contains(got, want) {
			t.Errorf("leakedSince = %q, misses the open %s", got, want)
		}
	}
	sys.Close(efd)
	r.Close()
	w.Close()
	if got := leakedSince(before); len(got) > 0 {
		t.Errorf("leakedSince after closing = %q, want none", got)
	}
}

package tcp

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every model's files are where the table says, a model has a net twin
// exactly when it names one, and the modes come once each.
func TestModelsTable(t *testing.T) {
	if got := strings.Join(Modes(), " "); got != "iterative fork thread select poll epoll" {
		t.Errorf("Modes() = %s", got)
	}
	for _, m := range Models {
		for _, f := range []string{m.Go, m.Net, m.C} {
			if f == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", f)); err != nil {
				t.Errorf("%s: %v", m.Name(), err)
			}
		}
		if m.HasNet() != (m.Net != "") {
			t.Errorf("%s: HasNet %v, net file %q", m.Name(), m.HasNet(), m.Net)
		}
		if got, ok := Lookup(m.Mode, m.Faithful); !ok || got.Go != m.Go {
			t.Errorf("Lookup(%s, %v) = %s, %v", m.Mode, m.Faithful, got.Go, ok)
		}
		if len(m.Idle) == 0 {
			t.Errorf("%s: no idle system calls", m.Name())
		}
	}
	if _, ok := Lookup("poll", true); ok {
		t.Errorf("Lookup(poll, faithful) found a model")
	}
	if m, _ := Lookup("select", true); m.Name() != "select (faithful)" || !slices.Contains(m.Flags, "clients") {
		t.Errorf("the faithful select: %q, flags %v", m.Name(), m.Flags)
	}
}

// Each model started from the table serves a client and stops.
func TestModelStart(t *testing.T) {
	for _, m := range Models {
		srv, err := m.Start(Config{Quiet: true, Clients: 1})
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		reply, err := Request(loopback, srv.Port, m.Mode, ClientConfig{Timeout: 5 * time.Second})
		if err != nil || reply != m.Mode {
			t.Errorf("%s: reply %q, %v", m.Name(), reply, err)
		}
		if err := srv.Stop(); err != nil {
			t.Errorf("%s: Stop: %v", m.Name(), err)
		}
	}
}

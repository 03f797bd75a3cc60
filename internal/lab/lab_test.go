package lab

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestCheckOnly(t *testing.T) {
	got, err := CheckOnly([]string{"e3", " E1", "E3"})
	if err != nil || !slices.Equal(got, []string{"E3", "E1"}) {
		t.Errorf("CheckOnly(e3, E1, E3) = %v, %v; want [E3 E1]", got, err)
	}
	_, err = CheckOnly([]string{"E1", "E5"})
	if err == nil || err.Error() != `unknown experiment "E5": want one or more of E0, E1, E2, E3, E4` {
		t.Errorf("CheckOnly(E5): %v", err)
	}
}

func TestScale(t *testing.T) {
	for _, c := range []struct {
		cfg            Config
		delay, dribble time.Duration
	}{
		{Config{}, 250 * time.Millisecond, 5 * time.Millisecond},
		{Config{Scale: 0.01}, 50 * time.Millisecond, time.Millisecond},
		{Config{Scale: 0.01, Faithful: true}, 5 * time.Second, 100 * time.Millisecond},
	} {
		if d, r := c.cfg.Delay(), c.cfg.Dribble(); d != c.delay || r != c.dribble {
			t.Errorf("%+v: delay %v, dribble %v; want %v, %v", c.cfg, d, r, c.delay, c.dribble)
		}
	}
}

func TestTableText(t *testing.T) {
	tb := &Table{Title: "T", Header: []string{"a", "bb"}, Rows: [][]string{{"xxx", "y"}},
		Notes: []string{strings.Repeat("word ", 30)}}
	var b strings.Builder
	tb.Text(&b)
	want := "T\n\n  a   bb\n  --- --\n  xxx y\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("Text:\n%s\nwant it to start with\n%s", b.String(), want)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if len(l) > 100 {
			t.Errorf("note line not wrapped: %q", l)
		}
	}
}

// The C twins are found from the repository (go test runs in the
// package's directory) and refused elsewhere.
func TestFindSrc(t *testing.T) {
	root, err := findSrc("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tcp", "testdata", "epoll.c")); err != nil {
		t.Errorf("findSrc = %s: %v", root, err)
	}
	if _, err := findSrc(t.TempDir()); err == nil {
		t.Errorf("findSrc(empty dir) succeeded")
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b, false)
	p.Set("one %d", 1)
	p.Clear()
	var tty strings.Builder
	q := NewProgress(&tty, true)
	q.Set("two")
	q.Clear()
	var none *Progress
	none.Set("nothing")
	if b.String() != "one 1\n" || tty.String() != "\r\033[Ktwo\r\033[K" {
		t.Errorf("plain %q, tty %q", b.String(), tty.String())
	}
}

// An interrupted E3 may hold only points that failed: its plot is left
// out with a reason, where the log axes made gonum panic.
func TestPlotsInterrupted(t *testing.T) {
	dir := t.TempDir()
	r := &Results{E3: &IdleResult{Points: []IdlePoint{{Server: "epoll", K: 10, Error: "interrupted"}}},
		E1: &LengthyResult{Clients: 2, Delay: 0.1, Rows: []LengthyRow{{Mode: "iterative", Impl: "raw", Seconds: 0}}}}
	files, err := r.Plots(dir)
	if err != nil || len(files) != 1 || files[0] != "e1.svg" {
		t.Fatalf("Plots of an interrupted run: %v, %v; want e1.svg only", files, err)
	}
	if err := r.E3.plot(filepath.Join(dir, "e3.svg")); err == nil {
		t.Fatal("E3 plotted with no point measured")
	}
	r.E3.Points = append(r.E3.Points, IdlePoint{Server: "epoll", K: 100, P50: 20000, P99: 40000})
	if files, err := r.Plots(dir); err != nil || len(files) != 2 {
		t.Fatalf("Plots with one E3 point measured: %v, %v", files, err)
	}
}

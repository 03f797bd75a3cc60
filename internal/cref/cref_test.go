package cref_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/socklab/socklab/internal/cref"
	"github.com/socklab/socklab/internal/testenv"
)

const hello = `#include <stdio.h>
int main(int argc, char **argv) {
	printf("hello %d %s\n", argc, argc > 1 ? argv[1] : "-");
	return 0;
}
`

// unusedParam compiles cleanly without -Wextra and fails with it under -Werror.
const unusedParam = `int f(int unused_arg) { return 0; }
int main(void) { return f(1); }
`

const threads = `#include <pthread.h>
#include <stdio.h>
static void *run(void *arg) { return arg; }
int main(void) {
	pthread_t t;
	void *r;
	if (pthread_create(&t, NULL, run, "thread") != 0 || pthread_join(t, &r) != 0)
		return 1;
	printf("%s\n", (char *)r);
	return 0;
}
`

func needCC(t *testing.T) {
	t.Helper()
	if err := cref.Available(); err != nil {
		testenv.Missing(t, "cc (apt-get install gcc)", err)
	}
}

func writeSource(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildAndRun(t *testing.T) {
	needCC(t)
	b := cref.New(t.TempDir())
	bin, err := b.Build(writeSource(t, "hello.c", hello))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "world").Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	if got, want := string(out), "hello 2 world\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestWarningFailsBuild(t *testing.T) {
	needCC(t)
	b := cref.New(t.TempDir())
	src := writeSource(t, "warn.c", unusedParam)
	_, err := b.Build(src)
	if err == nil {
		t.Fatal("a source with an unused parameter built under -Wextra -Werror")
	}
	for _, want := range []string{"unused_arg", "-Werror", "warn.c"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	// The failure is cached like a success.
	if _, err2 := b.Build(src); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("second Build: %v, want the first error", err2)
	}
}

func TestBuildCaches(t *testing.T) {
	needCC(t)
	b := cref.New(t.TempDir())
	src := writeSource(t, "hello.c", hello)
	first, err := b.Build(src)
	if err != nil {
		t.Fatal(err)
	}
	// Without the source a rebuild would fail: the same path back proves
	// that the compiler did not run again.
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			again, err := b.Build(src)
			if err != nil || again != first {
				t.Errorf("Build again = %q, %v; want %q, nil", again, err, first)
			}
		})
	}
	wg.Wait()
}

func TestBuildConcurrentOnce(t *testing.T) {
	needCC(t)
	dir := t.TempDir()
	b := cref.New(dir)
	src := writeSource(t, "hello.c", hello)
	paths := make([]string, 8)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Go(func() {
			p, err := b.Build(src)
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		})
	}
	wg.Wait()
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Errorf("concurrent builds returned %q and %q", paths[0], p)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("build directory holds %d files, want 1", len(entries))
	}
}

func TestExtraFlagsBuildSeparately(t *testing.T) {
	needCC(t)
	b := cref.New(t.TempDir())
	src := writeSource(t, "threads.c", threads)
	plain, err := b.Build(src)
	if err != nil {
		t.Fatal(err)
	}
	withPthread, err := b.Build(src, cref.Pthread)
	if err != nil {
		t.Fatal(err)
	}
	if plain == withPthread {
		t.Errorf("builds with different flags share the path %q", plain)
	}
	out, err := exec.Command(withPthread).Output()
	if err != nil || string(out) != "thread\n" {
		t.Errorf("%s: %q, %v", withPthread, out, err)
	}
}

func TestSameNameDifferentDirs(t *testing.T) {
	needCC(t)
	b := cref.New(t.TempDir())
	p1, err := b.Build(writeSource(t, "prog.c", hello))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.Build(writeSource(t, "prog.c", threads), cref.Pthread)
	if err != nil {
		t.Fatal(err)
	}
	if p1 == p2 {
		t.Fatalf("two prog.c share the binary %q", p1)
	}
	if out, _ := exec.Command(p1).Output(); !strings.HasPrefix(string(out), "hello") {
		t.Errorf("%s printed %q: overwritten by the second build?", p1, out)
	}
}

func TestNoDirectory(t *testing.T) {
	var b cref.Builder
	if _, err := b.Build("x.c"); err == nil {
		t.Error("zero Builder built something")
	}
}

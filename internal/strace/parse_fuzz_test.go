package strace_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/strace"
)

// FuzzParse feeds Parse arbitrary traces, seeded with the stored ones (each
// whole, and each line alone) and the shapes the other tests use. Parse
// never panics; its records stand in the order their lines start, one at
// most a line; and each finished record, printed by Call.String, parses
// back to itself.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.trace")
	if err != nil || len(files) == 0 {
		f.Fatalf("no stored traces: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		for line := range strings.Lines(string(b)) {
			f.Add(line)
		}
	}
	for _, s := range []string{
		`socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3`,
		`[pid  4242] listen(3, 5) = 0`,
		`7 recvfrom(3, 0x7ffc, 256, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)`,
		`7 exit_group(0) = ?`,
		`7 lseek(3, 0, SEEK_CUR) = 0xffffffffffffffff`,
		`7 sendto(3, "a, b) = \"c", 10, 0, NULL, 0) = 10`,
		`7 close(3</tmp/a\76b,c[d\">) = 0`,
		`7 openat(AT_FDCWD</tmp>, "x", O_RDONLY) = 4</tmp/x>`,
		`7 pselect6(8, [7<socket:[1]>], NULL, NULL, NULL, NULL) = 1 (in [7])`,
		`7 accept4(3, NULL, NULL, 0 <detached ...>`,
		`7 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=7, si_uid=0} ---`,
		`7 --- stopped by SIGSTOP ---`,
		`7 +++ exited with 3 +++`,
		`7 +++ killed by SIGSEGV (core dumped) +++`,
		`7 +++ superseded by execve in pid 8 +++`,
		"1 recvfrom(3,  <unfinished ...>\n2 close(4) = 0\n1 <... recvfrom resumed>\"x\", 1, 0, NULL, NULL) = 1\n",
		"1 epoll_pwait(6,  <unfinished ...>\n1 <... epoll_pwait resumed> <unfinished ...>) = ?\n1 +++ exited with 0 +++\n",
		"12 <... close resumed>) = 0\n",
		"[pid -5] close(3) = 0", "[pid +5] close(3) = 0", "7 --- stopped by SIGSTOP SIGCONT ---", "7 --- SIGTERM ---",
		"strace: Process 14 attached\n\n14 recvfrom(4,  <unfinished ...>\n",
		"7 garbage", "7 socket(AF_INET", "7 socket(AF_INET) 3", "7 <... socket resumed", "[pid 7 socket() = 3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		calls, _ := strace.Parse(strings.NewReader(text))
		lines := strings.Count(text, "\n") + 1
		for i, c := range calls {
			if c.Line < 1 || c.Line > lines || i > 0 && c.Line <= calls[i-1].Line {
				t.Fatalf("record %d at line %d (after line %d, of %d lines): %+v", i, c.Line, lineOf(calls, i-1), lines, c)
			}
			if c.Kind == strace.KindSyscall && c.RetText == "" {
				continue // never finished: String prints "= " and no value
			}
			again, err := strace.Parse(strings.NewReader(c.String()))
			if err != nil || len(again) != 1 {
				t.Fatalf("record %+v prints as %q, which parses to %+v, %v", c, c.String(), again, err)
			}
			again[0].Line = c.Line
			if !reflect.DeepEqual(again[0], c) {
				t.Fatalf("record %+v prints as %q, which parses to %+v", c, c.String(), again[0])
			}
		}
	})
}

func lineOf(calls []strace.Call, i int) int {
	if i < 0 {
		return 0
	}
	return calls[i].Line
}

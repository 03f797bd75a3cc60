package proc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// syscallNumbers are the blocking calls InSyscall knows, by name, with
// this architecture's numbers: those every Linux architecture has here,
// the others (accept, poll, select, epoll_wait) in the architecture's own
// file where it has them.
var syscallNumbers = map[string]int{
	"recvfrom": unix.SYS_RECVFROM, "recvmmsg": unix.SYS_RECVMMSG, "accept4": unix.SYS_ACCEPT4,
	"pselect6": unix.SYS_PSELECT6, "ppoll": unix.SYS_PPOLL, "epoll_pwait": unix.SYS_EPOLL_PWAIT,
	"wait4": unix.SYS_WAIT4, "nanosleep": unix.SYS_NANOSLEEP, "clock_nanosleep": unix.SYS_CLOCK_NANOSLEEP,
}

func init() {
	for name, nr := range legacySyscalls {
		syscallNumbers[name] = nr
	}
}

// InSyscall reports whether a thread of pid is in one of the system calls
// names now, as /proc/PID/task/TID/syscall tells. A name this
// architecture lacks (poll on arm64) matches nothing.
func InSyscall(pid int, names []string) bool {
	want := map[int]bool{}
	for _, n := range names {
		if nr, ok := syscallNumbers[n]; ok {
			want[nr] = true
		}
	}
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if nr, err := strconv.Atoi(strings.Fields(string(b) + " ")[0]); err == nil && want[nr] {
			return true
		}
	}
	return false
}

// BlockedIn waits until a thread of pid is in one of the system calls
// names (InSyscall), polling every 5 ms, or ctx ends.
func BlockedIn(ctx context.Context, pid int, names []string) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !InSyscall(pid, names) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("never blocked in %s: %w", strings.Join(names, " or "), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/proc"
)

// Main runs the tests of a package and then fails the run if they left
// descriptors open or children unreaped. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// Descriptors open before the tests do not count; that baseline includes the
// runtime's own netpoller (its epoll instance and eventfd), which Main
// starts first. Every other descriptor counts, eventfds, epoll instances
// and pipes too: they are what the servers and the process runners make.
func Main(m *testing.M) int {
	if l, err := net.ListenPacket("udp4", "127.0.0.1:0"); err == nil {
		l.Close() // start the netpoller before taking the baseline
	}
	before := openFDs()
	code := m.Run()
	if leaks := leakedSince(before); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests leaked file descriptors: %s\n", strings.Join(leaks, ", "))
		code = 1
	}
	if kids := Children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests left child processes: %s\n", strings.Join(kids, ", "))
		code = 1
	}
	return code
}

// leakedSince lists the descriptors open now that were not in before, as
// "fd N -> target", sorted.
func leakedSince(before map[string]string) []string {
	var leaks []string
	for fd, what := range openFDs() {
		if _, ok := before[fd]; !ok {
			leaks = append(leaks, fmt.Sprintf("fd %s -> %s", fd, what))
		}
	}
	sort.Strings(leaks)
	return leaks
}

func openFDs() map[string]string {
	out := map[string]string{}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return out
	}
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			out[e.Name()] = target
		}
	}
	delete(out, "") // the directory's own descriptor is gone by now
	return out
}

// Children lists this process's children, live or zombie, as
// "pid (state)".
func Children() []string {
	var kids []string
	for _, pid := range proc.Children(os.Getpid()) {
		state := byte('?')
		if s, ok := proc.State(fmt.Sprintf("/proc/%d", pid)); ok {
			state = s
		}
		kids = append(kids, fmt.Sprintf("%d (%c)", pid, state))
	}
	return kids
}

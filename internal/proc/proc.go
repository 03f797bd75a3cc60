package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Children lists the children of pid, live or zombie, from
// /proc/PID/task/*/children: every thread's, since a child belongs to the
// thread that forked it.
func Children(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		for _, field := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(field); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// Descendants lists pid's children, theirs, and so on, breadth first, at
// most 4096 of them.
func Descendants(pid int) []int {
	var out []int
	queue := Children(pid)
	for len(queue) > 0 && len(out) < 4096 {
		p := queue[0]
		queue = append(queue[1:], Children(p)...)
		out = append(out, p)
	}
	return out
}

// State returns the state letter of a process or thread from its stat
// file (path is /proc/PID or /proc/PID/task/TID): R, S, D, Z, X, ...; ok
// is false when it is gone.
func State(path string) (state byte, ok bool) {
	fields, ok := statFields(path)
	if !ok {
		return 0, false
	}
	return fields[0][0], true
}

// Exists reports whether pid is still a process, zombie or not.
func Exists(pid int) bool {
	_, ok := State(fmt.Sprintf("/proc/%d", pid))
	return ok
}

// Exited reports whether pid is gone or a zombie.
func Exited(pid int) bool {
	s, ok := State(fmt.Sprintf("/proc/%d", pid))
	return !ok || s == 'Z' || s == 'X'
}

// AllIn reports whether pid runs at least min threads and every one of
// them is in state: 'S' (asleep), 'T' (stopped by a signal), ...
func AllIn(pid int, state byte, min int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if len(tasks) < min {
		return false
	}
	for _, t := range tasks {
		if s, ok := State(t); !ok || s != state {
			return false
		}
	}
	return true
}

// CPUTime returns the user and system time pid has used, in clock ticks
// of 1/100 s (USER_HZ).
func CPUTime(pid int) (ticks int, ok bool) {
	f, ok := statFields(fmt.Sprintf("/proc/%d", pid))
	if !ok || len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.Atoi(f[11])
	st, err2 := strconv.Atoi(f[12])
	return ut + st, err1 == nil && err2 == nil
}

// statFields returns the fields of path/stat after the command name (which
// may hold spaces and parentheses): state first, as proc(5) numbers them
// from 3.
func statFields(path string) ([]string, bool) {
	b, err := os.ReadFile(path + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return nil, false
	}
	f := strings.Fields(s[i+2:])
	return f, len(f) > 0
}

package strace

import (
	"strconv"
	"strings"
)

// scanner walks strace's argument text and tells which bytes stand at the
// top level: outside strings, outside (), [] and {}, and outside the
// <path> that strace -y writes after a file descriptor ("3<socket:[9319]>",
// "AT_FDCWD</tmp>"; strace escapes '>' inside the path).
type scanner struct {
	depth          int
	str, anno, esc bool
}

// top consumes s[i] and reports whether it stands at the top level.
// An unmatched closer (the call's own ')') is at the top level.
func (sc *scanner) top(s string, i int) bool {
	c := s[i]
	switch {
	case sc.esc:
		sc.esc = false
		return false
	case sc.str:
		switch c {
		case '\\':
			sc.esc = true
		case '"':
			sc.str = false
		}
		return false
	case sc.anno:
		switch c {
		case '\\':
			sc.esc = true
		case '>':
			sc.anno = false
		}
		return false
	}
	switch c {
	case '"':
		sc.str = true
		return false
	case '<':
		if i > 0 && isIdent(s[i-1]) {
			sc.anno = true
			return false
		}
	case '(', '[', '{':
		sc.depth++
		return false
	case ')', ']', '}':
		if sc.depth > 0 {
			sc.depth--
			return false
		}
	}
	return sc.depth == 0
}

// closeParen returns the index of the ')' that closes a call's arguments.
func closeParen(s string) int {
	var sc scanner
	for i := 0; i < len(s); i++ {
		if sc.top(s, i) && s[i] == ')' {
			return i
		}
	}
	return -1
}

// splitArgs splits argument text at its top-level commas.
func splitArgs(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var args []string
	var sc scanner
	start := 0
	for i := 0; i < len(s); i++ {
		if sc.top(s, i) && s[i] == ',' {
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}

// symbols returns the identifiers in s outside strings and annotations:
// "SOCK_DGRAM|SOCK_CLOEXEC" gives SOCK_DGRAM and SOCK_CLOEXEC,
// "{flags=CLONE_VM|CLONE_THREAD, exit_signal=0}" gives flags, CLONE_VM, ...
func symbols(s string) []string {
	var out []string
	var sc scanner
	start := -1
	for i := 0; i <= len(s); i++ {
		word := false
		if i < len(s) {
			inside := sc.str || sc.anno || sc.esc
			sc.top(s, i)
			word = !inside && !sc.str && !sc.anno && isIdent(s[i])
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, s[start:i])
			start = -1
		}
	}
	return out
}

// parseFD parses "3" or "3<socket:[9319]>" into 3 and "socket:[9319]".
func parseFD(s string) (fd int, path string, ok bool) {
	s = strings.TrimSpace(s)
	num, path, hasPath := strings.Cut(s, "<")
	if hasPath {
		var cut bool
		if path, cut = strings.CutSuffix(path, ">"); !cut {
			return 0, "", false
		}
	}
	fd, err := strconv.Atoi(num)
	if err != nil || fd < 0 {
		return 0, "", false
	}
	return fd, path, true
}

// fdsIn returns the descriptors in a select fd set ("[3 4]",
// "[3<socket:[1]> 4<socket:[2]>]") or in a poll array, where each follows
// "fd=" ("[{fd=3, events=POLLIN}]").
func fdsIn(s string) (fds []int, paths []string) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, nil
	}
	poll := strings.Contains(s, "fd=")
	var sc scanner
	for i := 0; i < len(s); i++ {
		sc.top(s, i)
		if sc.str || sc.anno || s[i] < '0' || s[i] > '9' {
			continue
		}
		prev := s[i-1]
		if poll && !strings.HasSuffix(s[:i], "fd=") || !poll && prev != '[' && prev != ' ' {
			for i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
				i++
			}
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j < len(s) && s[j] == '<' {
			for j < len(s) && s[j] != '>' { // '>' is escaped inside paths
				j++
			}
			j++
		}
		if fd, path, ok := parseFD(s[i:min(j, len(s))]); ok {
			fds, paths = append(fds, fd), append(paths, path)
		}
		i = j - 1
	}
	return fds, paths
}

func isIdent(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

package strace

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ParseFile parses the trace strace wrote to path.
func ParseFile(path string) ([]Call, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("strace: %w", err)
	}
	defer f.Close()
	calls, err := Parse(f)
	if err != nil {
		return calls, fmt.Errorf("%s: %w", path, err)
	}
	return calls, nil
}

const (
	unfinished = " <unfinished ...>"
	detached   = " <detached ...>"
)

// Parse reads strace output: lines of "PID name(args) = ret", with or
// without the pid prefix (strace -f -o FILE writes it; "[pid N]" is
// accepted too), signal lines, exit lines and unfinished/resumed pairs.
// Calls come in the order their lines start, so a blocking call resumed
// after other processes' calls stands where it was entered. A call
// still unfinished when its process ends has NoReturn set. Timestamps
// (-t, -r) and -T are not supported. An unrecognised line is an error
// naming its number; the calls before it are returned with it.
func Parse(r io.Reader) ([]Call, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var calls []Call
	pending := make(map[int]int) // pid -> index of its unfinished call
	partial := make(map[int]string)
	abandon := func(pid int) { // the pid's unfinished call will not resume
		if i, ok := pending[pid]; ok {
			calls[i].Args, calls[i].ArgList = partial[pid], splitArgs(partial[pid])
		}
		delete(pending, pid)
		delete(partial, pid)
	}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "strace: ") {
			continue
		}
		pid, rest, err := splitPID(line)
		if err != nil {
			return calls, fmt.Errorf("strace: line %d: %w: %q", n, err, line)
		}
		errf := func(what string) error {
			return fmt.Errorf("strace: line %d: %s: %q", n, what, line)
		}
		switch {
		case strings.HasPrefix(rest, "--- ") && strings.HasSuffix(rest, " ---"):
			c := Call{Line: n, PID: pid, Kind: KindSignal}
			body := strings.TrimSuffix(strings.TrimPrefix(rest, "--- "), " ---")
			c.Signal, c.Args, _ = strings.Cut(body, " ")
			if rest, ok := strings.CutPrefix(body, "stopped by "); ok && isName(rest) {
				c.Signal, c.Args = rest, "stopped"
			}
			calls = append(calls, c)

		case strings.HasPrefix(rest, "+++ ") && strings.HasSuffix(rest, " +++"):
			body := strings.TrimSuffix(strings.TrimPrefix(rest, "+++ "), " +++")
			c := Call{Line: n, PID: pid}
			if code, ok := strings.CutPrefix(body, "exited with "); ok {
				c.Kind = KindExit
				if c.ExitCode, err = strconv.Atoi(code); err != nil {
					return calls, errf("bad exit status")
				}
			} else if sig, ok := strings.CutPrefix(body, "killed by "); ok {
				c.Kind = KindKilled
				c.Signal, _, _ = strings.Cut(sig, " ") // "SIGSEGV (core dumped)"
			} else if strings.HasPrefix(body, "superseded by execve") {
				continue // a thread's execve took over the leader's pid
			} else {
				return calls, errf("unknown +++ line")
			}
			abandon(pid) // it ended inside a call
			calls = append(calls, c)

		case strings.HasPrefix(rest, "<... "):
			name, text, ok := strings.Cut(strings.TrimPrefix(rest, "<... "), " resumed>")
			if !ok || !isName(name) {
				return calls, errf("bad resumed line")
			}
			i, ok := pending[pid]
			if ok && calls[i].Name == name {
				p := partial[pid]
				if t, ok := strings.CutPrefix(text, unfinished); ok {
					// "<... x resumed> <unfinished ...>) = ?": the process ended in x
					p, text = strings.TrimRight(p, ", "), t
				}
				text = p + text
				delete(pending, pid)
				delete(partial, pid)
			} else {
				// resumed without a start we saw: record it here
				abandon(pid)
				calls = append(calls, Call{Line: n, PID: pid, Name: name})
				i = len(calls) - 1
			}
			text = strings.TrimPrefix(text, unfinished)
			if p, ok := strings.CutSuffix(text, unfinished); ok {
				pending[pid], partial[pid] = i, p
				calls[i].NoReturn = true
				continue
			}
			if err := finish(&calls[i], text); err != nil {
				if calls[i].Line == n {
					calls = calls[:i]
				}
				return calls, errf(err.Error())
			}

		default:
			name, text, ok := strings.Cut(rest, "(")
			if !ok || !isName(name) {
				return calls, errf("not a strace line")
			}
			abandon(pid)
			calls = append(calls, Call{Line: n, PID: pid, Name: name})
			i := len(calls) - 1
			if p, ok := strings.CutSuffix(text, unfinished); ok {
				pending[pid], partial[pid] = i, p
				calls[i].NoReturn = true
				continue
			}
			if p, ok := strings.CutSuffix(text, detached); ok {
				calls[i].Args, calls[i].ArgList, calls[i].NoReturn = p, splitArgs(p), true
				continue
			}
			if err := finish(&calls[i], text); err != nil {
				return calls[:i], errf(err.Error())
			}
		}
	}
	if err := sc.Err(); err != nil {
		return calls, fmt.Errorf("strace: %w", err)
	}
	for pid := range pending { // the trace ended mid-call
		abandon(pid)
	}
	return calls, nil
}

// splitPID takes the pid prefix off a line: "5307  socket(...)" or
// "[pid  5307] socket(...)". A line without one has pid 0.
func splitPID(line string) (int, string, error) {
	if rest, ok := strings.CutPrefix(line, "[pid "); ok {
		num, rest, ok := strings.Cut(rest, "]")
		if !ok {
			return 0, "", fmt.Errorf("bad [pid N] prefix")
		}
		pid, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil || pid < 0 {
			return 0, "", fmt.Errorf("bad [pid N] prefix")
		}
		return pid, strings.TrimLeft(rest, " "), nil
	}
	num, rest, ok := strings.Cut(line, " ")
	if !ok || num == "" || strings.Trim(num, "0123456789") != "" {
		return 0, line, nil
	}
	pid, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", err
	}
	return pid, strings.TrimLeft(rest, " "), nil
}

// finish fills in dst from text, the rest of a call after "name(":
// `3, "hi", 2) = 2` or `3) = -1 EBADF (Bad file descriptor)`. A text it
// cannot read leaves dst as it was.
func finish(dst *Call, text string) error {
	c := *dst
	end := closeParen(text)
	if end < 0 {
		return fmt.Errorf("no closing parenthesis")
	}
	c.Args = text[:end]
	c.ArgList = splitArgs(c.Args)
	ret, ok := strings.CutPrefix(strings.TrimSpace(text[end+1:]), "=")
	if !ok {
		return fmt.Errorf("no return value")
	}
	c.RetText = strings.TrimSpace(ret)
	c.NoReturn = false
	tok := firstToken(c.RetText)
	if tok == "?" {
		c.NoReturn = true
	} else {
		num := tok
		if i := strings.IndexByte(num, '<'); i >= 0 {
			num = num[:i] // "3<socket:[9319]>"
		}
		v, err := strconv.ParseInt(num, 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(num, 0, 64) // 0xffffffffffffffff
			if uerr != nil {
				return fmt.Errorf("bad return value %q", tok)
			}
			v = int64(u)
		}
		c.Ret = v
	}
	rest := strings.TrimSpace(c.RetText[len(tok):])
	if e := firstToken(rest); isErrno(e) {
		c.Errno = e
	}
	*dst = c
	return nil
}

// firstToken returns s up to the first space outside a -y annotation.
func firstToken(s string) string {
	var sc scanner
	for i := 0; i < len(s); i++ {
		if sc.top(s, i) && s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdent(s[i]) && s[i] != '?' {
			return false
		}
	}
	return true
}

func isErrno(s string) bool {
	if len(s) < 2 || s[0] != 'E' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

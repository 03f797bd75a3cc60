package strace

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// A Difference is one way a twin's step differs from the raw program's in
// a Row of Align.
type Difference struct {
	Twin   string // the twin's column name
	Kind   DiffKind
	Family string
	Symbol string // the flag, option, kernel name or errno that differs; "" for a whole step
	Detail string // the difference in words: "net's socket adds SOCK_NONBLOCK"
	Known  *Known // the explanation, nil when there is none
}

func (d Difference) String() string { return d.Detail }

// A Row is one step of Align: Steps[0] is the raw program's, Steps[i] the
// i'th twin's; nil where that program has no such step.
type Row struct {
	Steps []*Step
	Diffs []Difference
}

// A Column is one twin's name ("net", "c") and steps, for Align.
type Column struct {
	Name  string
	Steps []Step
}

// Align sets the raw program's steps beside each twin's, aligned by step
// with Diff (by family, descriptor flow and socket option; not by
// results), and explains every difference from KnownDifferences. Steps
// only a twin makes come as rows of their own, those of two twins paired
// when they are the same step.
func Align(raw []Step, twins ...Column) []Row {
	n := len(twins) + 1
	raw = relabel(raw)
	for j := range twins {
		twins[j].Steps = relabel(twins[j].Steps)
	}
	match := make([][]int, len(twins))    // match[j][i]: twin j's step beside raw[i], or -1
	before := make([][][]int, len(twins)) // before[j][i]: twin j's lone steps before raw[i] (i == len(raw): at the end)
	rs := alignShapes(raw)
	for j, tw := range twins {
		match[j] = make([]int, len(raw))
		before[j] = make([][]int, len(raw)+1)
		i := 0
		for _, e := range Diff(rs, alignShapes(tw.Steps)) {
			switch e.Op {
			case Same:
				match[j][e.A] = e.B
				i = e.A + 1
			case OnlyA:
				match[j][e.A] = -1
				i = e.A + 1
			case OnlyB:
				before[j][i] = append(before[j][i], e.B)
			}
		}
	}
	var rows []Row
	for i := 0; i <= len(raw); i++ {
		var gap []Row // lone twin steps, twin by twin, paired where they align
		for j, tw := range twins {
			gap = mergeGap(gap, tw.Steps, before[j][i], j+1, n)
		}
		rows = append(rows, gap...)
		if i == len(raw) {
			break
		}
		r := Row{Steps: make([]*Step, n)}
		r.Steps[0] = &raw[i]
		for j, tw := range twins {
			if k := match[j][i]; k >= 0 {
				r.Steps[j+1] = &tw.Steps[k]
			}
		}
		rows = append(rows, r)
	}
	known := KnownDifferences()
	for ri := range rows {
		r := &rows[ri]
		for j, tw := range twins {
			for _, d := range differences(tw.Name, r.Steps[0], r.Steps[j+1]) {
				d.Twin = tw.Name
				d.Known = explain(known, d)
				r.Diffs = append(r.Diffs, d)
			}
		}
	}
	return rows
}

// Label is the step in a column of socklab compare: the kernel's name,
// the symbolic descriptors, the socket option, fcntl command or epoll_ctl
// operation, and what the call made or the error it returned. A step of
// a folded cycle (Collapse) starts with how many times the cycle ran and
// shows its return value, which is part of what made the rounds alike:
// "2712x recvfrom(sock#2) = 0".
func (s Step) Label() string {
	args := append([]string(nil), s.Refs...)
	if q := qualifier(s); q != "" {
		args = append(args, q)
	}
	var b strings.Builder
	if s.Loop.Times > 0 {
		fmt.Fprintf(&b, "%dx ", s.Loop.Times)
	}
	if s.Proc > 1 {
		fmt.Fprintf(&b, "proc#%d: ", s.Proc)
	}
	fmt.Fprintf(&b, "%s(%s)", s.Name, strings.Join(args, ", "))
	switch {
	case s.NoReturn:
		b.WriteString(" = ?")
	case s.Errno != "":
		b.WriteString(" = -1 " + s.Errno)
	case s.New != "":
		b.WriteString(" = " + s.New)
	case s.Loop.Times > 0:
		fmt.Fprintf(&b, " = %d", s.Ret)
	}
	return b.String()
}

// relabel renames a program's sockets for Align: a socket made by socket
// whose every other step is setsockopt, bind or close (a probe, opened and
// closed at once, as net does) becomes probe#N, the others sock#N in order
// of creation, so that a twin's probes do not shift its names.
func relabel(steps []Step) []Step {
	made, used, closed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range steps {
		if s.Family == "socket" && s.New != "" {
			made[s.New] = true
		}
		for _, r := range s.Refs {
			switch s.Family {
			case "setsockopt", "bind":
			case "close":
				closed[r] = true
			default:
				used[r] = true
			}
		}
	}
	names := map[string]string{}
	var probes, socks int
	rename := func(old string) string {
		if !strings.HasPrefix(old, "sock#") {
			return old
		}
		if n, ok := names[old]; ok {
			return n
		}
		if made[old] && closed[old] && !used[old] {
			probes++
			names[old] = fmt.Sprintf("probe#%d", probes)
		} else {
			socks++
			names[old] = fmt.Sprintf("sock#%d", socks)
		}
		return names[old]
	}
	out := make([]Step, len(steps))
	for i, s := range steps {
		news := strings.Fields(s.New)
		for j := range news {
			news[j] = rename(news[j])
		}
		s.New = strings.Join(news, " ")
		refs := make([]string, len(s.Refs))
		for j, r := range s.Refs {
			refs[j] = rename(r)
		}
		s.Refs = refs
		s.Ready = sockName.ReplaceAllStringFunc(s.Ready, rename)
		out[i] = s
	}
	return out
}

// sockName matches the socket names Network gives, in Step.Ready.
var sockName = regexp.MustCompile(`sock#[0-9]+`)

// isProbe reports whether s acts on or makes a probe socket (relabel).
func isProbe(s Step) bool {
	return strings.HasPrefix(s.New, "probe#") || len(s.Refs) > 0 && strings.HasPrefix(s.Refs[0], "probe#")
}

// mergeGap adds twin col's lone steps idx to the gap rows, beside the
// steps of earlier twins where they align.
func mergeGap(gap []Row, steps []Step, idx []int, col, n int) []Row {
	if len(idx) == 0 {
		return gap
	}
	mine := make([]Step, len(idx))
	for k, i := range idx {
		mine[k] = steps[i]
	}
	theirs := make([]Step, len(gap))
	for k, r := range gap {
		for _, s := range r.Steps {
			if s != nil {
				theirs[k] = *s
				break
			}
		}
	}
	var out []Row
	for _, e := range Diff(alignShapes(theirs), alignShapes(mine)) {
		switch e.Op {
		case Same:
			r := gap[e.A]
			r.Steps[col] = &steps[idx[e.B]]
			out = append(out, r)
		case OnlyA:
			out = append(out, gap[e.A])
		case OnlyB:
			r := Row{Steps: make([]*Step, n)}
			r.Steps[col] = &steps[idx[e.B]]
			out = append(out, r)
		}
	}
	return out
}

// alignShapes is what Align compares: the step without its result, its
// family qualified by the socket option, fcntl command or epoll_ctl
// operation it names.
func alignShapes(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		s.Errno, s.NoReturn = "", false
		if q := qualifier(s); q != "" {
			s.Family += " " + q
		}
		out[i] = s
	}
	return out
}

func qualifier(s Step) string {
	switch s.Family {
	case "setsockopt", "getsockopt":
		return s.Arg(2)
	case "fcntl":
		return s.Arg(1)
	case "epoll_ctl":
		return s.Arg(1)
	}
	return ""
}

// flagArgs lists, by family, the arguments whose symbols (flags, levels,
// protocols) Align compares between two steps it set side by side.
var flagArgs = map[string][]int{
	"socket": {0, 1, 2}, "accept": {3}, "shutdown": {1},
	"sendto": {3}, "recvfrom": {3}, "sendmsg": {2}, "recvmsg": {2}, "sendmmsg": {3}, "recvmmsg": {3},
	"setsockopt": {1}, "getsockopt": {1}, "fcntl": {2}, "epoll_create": {0}, "epoll_ctl": {3},
}

// Flags returns the symbols Align compares in s: the flags of the
// arguments flagArgs names, and listen's backlog as "backlog=N".
func Flags(s Step) []string {
	var out []string
	for _, i := range flagArgs[s.Family] {
		for _, sym := range symbols(s.Arg(i)) {
			if isFlag(sym) && !slices.Contains(out, sym) {
				out = append(out, sym)
			}
		}
	}
	if s.Family == "listen" && s.Arg(1) != "" {
		out = append(out, "backlog="+s.Arg(1))
	}
	return out
}

// isFlag reports whether a symbol is a C constant (SOCK_DGRAM, EPOLLIN),
// not a field name or a number.
func isFlag(sym string) bool {
	if sym == "NULL" || sym[0] < 'A' || sym[0] > 'Z' {
		return false
	}
	return strings.ToUpper(sym) == sym
}

// differences lists how twin's step differs from raw's (either may be
// nil), in the words of twin, the twin's column name.
func differences(twin string, raw, tw *Step) []Difference {
	switch {
	case raw == nil && tw == nil:
		return nil
	case raw == nil && isProbe(*tw):
		return []Difference{{Kind: TwinOnly, Family: tw.Family, Symbol: "probe",
			Detail: fmt.Sprintf("%s adds %s on a probe socket", twin, tw.Name)}}
	case raw == nil:
		return []Difference{{Kind: TwinOnly, Family: tw.Family, Symbol: option(*tw),
			Detail: fmt.Sprintf("%s adds %s", twin, lone(*tw))}}
	case tw == nil:
		return []Difference{{Kind: RawOnly, Family: raw.Family, Symbol: option(*raw),
			Detail: fmt.Sprintf("%s lacks %s", twin, lone(*raw))}}
	}
	var out []Difference
	add := func(kind DiffKind, sym, format string, a ...any) {
		out = append(out, Difference{Kind: kind, Family: raw.Family, Symbol: sym, Detail: fmt.Sprintf(format, a...)})
	}
	if raw.Name != tw.Name {
		name := tw.Name
		if name == tw.Family {
			name = raw.Name
		}
		add(OtherName, name, "%s: raw enters as %s, %s as %s", raw.Family, raw.Name, twin, tw.Name)
	}
	rf, tf := Flags(*raw), Flags(*tw)
	for _, f := range tf {
		if !slices.Contains(rf, f) {
			add(TwinFlag, f, "%s's %s adds %s", twin, tw.Name, f)
		}
	}
	for _, f := range rf {
		if !slices.Contains(tf, f) {
			add(RawFlag, f, "%s's %s lacks %s", twin, tw.Name, f)
		}
	}
	switch {
	case raw.Errno == tw.Errno:
	case tw.Errno != "" && raw.Errno == "":
		add(Result, tw.Errno, "%s's %s fails with %s", twin, tw.Name, tw.Errno)
	case raw.Errno != "" && tw.Errno == "":
		add(Result, raw.Errno, "raw's %s fails with %s, %s's returns", raw.Name, raw.Errno, twin)
	default:
		add(Result, tw.Errno, "raw's %s fails with %s, %s's with %s", raw.Name, raw.Errno, twin, tw.Errno)
	}
	// A folded cycle is the same calls with the same results round after
	// round (Collapse): two set side by side must return the same.
	if raw.Loop.Times > 0 && tw.Loop.Times > 0 && raw.Errno == "" && tw.Errno == "" && raw.Result() != tw.Result() {
		add(Result, tw.Result(), "in the loop, %s's %s returns %s, raw's %s", twin, tw.Name, tw.Result(), raw.Result())
	}
	return out
}

// lone describes a step only one side makes: its name, option and error.
func lone(s Step) string {
	out := s.Name
	if s.Family == "setsockopt" || s.Family == "getsockopt" {
		out += " " + s.Arg(2)
	}
	if s.Errno != "" {
		out += " (-1 " + s.Errno + ")"
	}
	if s.Loop.Times > 0 {
		out += fmt.Sprintf(" (step %d of %d of a loop, %d times)", s.Loop.Pos, s.Loop.Len, s.Loop.Times)
	}
	return out
}

// option is what a lone step is matched on: the socket option of a
// setsockopt or getsockopt, else the error a failed call returned.
func option(s Step) string {
	if s.Family == "setsockopt" || s.Family == "getsockopt" {
		return s.Arg(2)
	}
	return s.Errno
}

// explain finds the Known that covers d.
func explain(known []Known, d Difference) *Known {
	for i := range known {
		k := &known[i]
		if k.Twin != "" && k.Twin != d.Twin {
			continue
		}
		for _, p := range k.Match {
			if p.Kind == d.Kind && (p.Family == "" || p.Family == d.Family) && symbolMatches(p.Symbol, d.Symbol) {
				return k
			}
		}
	}
	return nil
}

func symbolMatches(pattern, sym string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(sym, prefix)
	}
	return pattern == "" || pattern == sym
}

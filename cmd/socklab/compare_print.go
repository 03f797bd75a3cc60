package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/socklab/socklab/internal/strace"
)

// explanations returns the known differences the rows use, in
// order of first use, and the count of unexplained differences.
func (r *comparison) explanations() (used []*strace.Known, unexplained int) {
	seen := map[string]bool{}
	for _, row := range r.rows {
		for _, d := range row.Diffs {
			switch {
			case d.Known == nil:
				unexplained++
			case !seen[d.Known.ID]:
				seen[d.Known.ID] = true
				used = append(used, d.Known)
			}
		}
	}
	return used, unexplained
}

// diffCounts counts each twin's differences from raw, and the unexplained.
func (r *comparison) diffCounts() map[string][2]int {
	out := map[string][2]int{}
	for _, row := range r.rows {
		for _, d := range row.Diffs {
			n := out[d.Twin]
			n[0]++
			if d.Known == nil {
				n[1]++
			}
			out[d.Twin] = n
		}
	}
	return out
}

// display is an argv as the reader would type it: socklab for this
// binary, the C twin by its source's name.
func (r *comparison) display(c column) string {
	argv := append([]string(nil), c.Argv...)
	switch {
	case len(argv) == 0:
	case argv[0] == r.self:
		argv[0] = "socklab"
	case c.Name == "c":
		argv[0] = "./" + strings.TrimSuffix(filepath.Base(c.Source), ".c")
	}
	return strings.Join(argv, " ")
}

// maxCell bounds a column's width; longer labels are cut.
const maxCell = 44

func cut(s string) string {
	if len(s) > maxCell {
		return s[:maxCell-3] + "..."
	}
	return s
}

func (r *comparison) writeText(w io.Writer) {
	s := r.spec
	title := s.program
	if s.mode != "" {
		title += " --mode " + s.mode
	}
	if s.faithful {
		title += " --faithful"
	}
	fmt.Fprintf(w, "socklab compare %s: network system calls under strace -f, aligned by step\n", title)
	srcw := 0
	for _, c := range r.cols {
		srcw = max(srcw, len(c.Source))
	}
	for _, c := range r.cols {
		fmt.Fprintf(w, "  %-4s %-*s  %s\n", c.Name, srcw, c.Source, r.display(c))
	}
	for _, c := range r.missing {
		fmt.Fprintf(w, "  %-4s not shown: %s\n", c.Name, c.Reason)
	}
	if s.server {
		if s.tcp {
			fmt.Fprintf(w, "  each asked once on 127.0.0.1 by a client that sends the word and its FIN in one segment, then stopped with SIGTERM\n")
		} else if s.workers > 0 {
			fmt.Fprintf(w, "  each with %d workers, asked %d times, one request after the other, by socklab's raw UDP client\n"+
				"  on 127.0.0.1 (the kernel hands each to the worker that has waited longest), then stopped with SIGTERM\n", s.workers, s.workers)
		} else {
			fmt.Fprintf(w, "  each asked once by socklab's raw UDP client on 127.0.0.1, then stopped with SIGTERM\n")
		}
	} else {
		server := map[bool]string{true: "TCP echo server", false: "UDP echo server"}[s.tcp]
		if s.upper {
			server = upperServer()
		}
		fmt.Fprintf(w, "  each asking socklab's raw %s at %s\n", server, r.server)
	}
	if s.faithful {
		fmt.Fprintf(w, "  a round waits for 1 client (the tutorial: 20); the first select %v after its last send (the tutorial:\n"+
			"  5 s) ends it: shutdown, close, and accept for the next round\n", compareFaithfulIdle)
	}
	fmt.Fprintf(w, "  sockets are named sock#N in order of creation; ~ differs from raw, + only here, - missing here\n")
	if s.spins {
		fmt.Fprintf(w, "  Nx: a round of the loop made N times in a row, the same calls with the same results, shown once;\n"+
			"      the rounds are compared, N (how fast it spun) is not\n")
	}
	fmt.Fprintln(w)

	width := make([]int, len(r.cols))
	for i, c := range r.cols {
		width[i] = len(c.Name)
	}
	for _, row := range r.rows {
		for i, st := range row.Steps {
			if st != nil {
				width[i] = max(width[i], len(cut(st.Label())))
			}
		}
	}
	var head strings.Builder
	for i, c := range r.cols {
		fmt.Fprintf(&head, "  %-*s ", width[i], c.Name)
	}
	fmt.Fprintf(w, "%s %s\n", head.String(), "explained by")
	for _, row := range r.rows {
		var line strings.Builder
		for i, st := range row.Steps {
			mark, text := " ", ""
			if st != nil {
				text = cut(st.Label())
			}
			if i > 0 {
				mark = rowMark(row, r.cols[i].Name, st)
			}
			fmt.Fprintf(&line, "%s %-*s ", mark, width[i], text)
		}
		fmt.Fprintln(w, strings.TrimRight(line.String()+" "+rowNotes(row), " "))
	}

	used, unexplained := r.explanations()
	counts := r.diffCounts()
	fmt.Fprintln(w)
	for _, c := range r.cols[1:] {
		n := counts[c.Name]
		switch {
		case n[0] == 0:
			fmt.Fprintf(w, "raw and %s: the same system calls in the same order, on the same sockets\n", c.Name)
		case n[1] == 0:
			fmt.Fprintf(w, "raw and %s: %d differences, all explained\n", c.Name, n[0])
		default:
			fmt.Fprintf(w, "raw and %s: %d differences, %d UNEXPLAINED\n", c.Name, n[0], n[1])
		}
	}
	if len(r.cols) < 3 {
		fmt.Fprintf(w, "(%d columns: %s)\n", len(r.cols), missingNote(r.missing))
	}
	if loops := r.loops(); len(loops) > 0 {
		fmt.Fprintf(w, "\nLoops, each round shown once above (strace.Collapse):\n")
		for _, l := range loops {
			fmt.Fprintf(w, "  %s\n", l)
		}
		for _, l := range wrap(s.loopNote, 96) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if len(used) > 0 {
		fmt.Fprintf(w, "\nExplanations (internal/strace/known.go):\n")
	}
	for _, k := range used {
		fmt.Fprintf(w, "  %s: %s\n", k.ID, strings.Join(r.observed(k), "; "))
		for _, l := range wrap(k.Why, 92) {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
	if unexplained > 0 {
		fmt.Fprintf(w, "\n%d UNEXPLAINED differences: a step the known table does not name (add it there, or fix the program)\n", unexplained)
	}
}

// loops describes each folded loop of the rows: how many times each
// column made its round, and the round's calls with what they returned.
func (r *comparison) loops() []string {
	var out []string
	for ri, row := range r.rows {
		var counts, bodies []string
		for ci, st := range row.Steps {
			if st == nil || st.Loop.Pos != 1 {
				continue
			}
			counts = append(counts, fmt.Sprintf("%s %dx", r.cols[ci].Name, st.Loop.Times))
			var calls []string
			for _, next := range r.rows[ri:] {
				if s := next.Steps[ci]; s != nil && len(calls) < st.Loop.Len {
					calls = append(calls, fmt.Sprintf("%s(%s) = %s", s.Name, strings.Join(s.Refs, ", "), s.Result()))
				}
			}
			bodies = append(bodies, strings.Join(calls, "; "))
		}
		switch {
		case len(counts) == 0:
		case len(slices.Compact(slices.Clone(bodies))) == 1:
			out = append(out, strings.Join(counts, ", ")+": "+bodies[0])
		default:
			for i := range counts {
				out = append(out, counts[i]+": "+bodies[i])
			}
		}
	}
	return out
}

func missingNote(missing []column) string {
	var parts []string
	for _, c := range missing {
		parts = append(parts, "no "+c.Name+": "+c.Reason)
	}
	return strings.Join(parts, "; ")
}

// rowMark marks the twin's cell of a row: ~ differs from raw, + a step
// only the twin makes, - a raw step the twin lacks.
func rowMark(row strace.Row, twin string, st *strace.Step) string {
	for _, d := range row.Diffs {
		if d.Twin != twin {
			continue
		}
		switch {
		case d.Kind == strace.TwinOnly:
			return "+"
		case d.Kind == strace.RawOnly:
			return "-"
		default:
			return "~"
		}
	}
	return " "
}

// rowNotes names the explanations of a row's differences, and the
// unexplained ones.
func rowNotes(row strace.Row) string {
	var notes []string
	for _, d := range row.Diffs {
		n := "UNEXPLAINED: " + d.String()
		if d.Known != nil {
			n = d.Known.ID
		}
		if !contains(notes, n) {
			notes = append(notes, n)
		}
	}
	return strings.Join(notes, ", ")
}

// observed lists the differences k explained in this comparison.
func (r *comparison) observed(k *strace.Known) []string {
	var out []string
	for _, row := range r.rows {
		for _, d := range row.Diffs {
			if d.Known == k && !contains(out, d.String()) {
				out = append(out, d.String())
			}
		}
	}
	return out
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// The JSON form: the columns, the rows with each program's step and the
// differences, and the known differences the rows use.
type jsonStep struct {
	Label  string       `json:"label"`
	Key    string       `json:"key"`
	Family string       `json:"family"`
	Call   string       `json:"call"`
	Result string       `json:"result"`
	Loop   *strace.Loop `json:"loop,omitempty"` // a round of a folded loop
}

type jsonDiff struct {
	Twin   string `json:"twin"`
	Kind   string `json:"kind"`
	Family string `json:"family"`
	Symbol string `json:"symbol,omitempty"`
	Known  string `json:"known,omitempty"` // the explanation's ID; "" when unexplained
}

type jsonRow struct {
	Steps       map[string]*jsonStep `json:"steps"`
	Differences []jsonDiff           `json:"differences,omitempty"`
}

type jsonKnown struct {
	ID   string `json:"id"`
	Twin string `json:"twin,omitempty"`
	Why  string `json:"why"`
}

type jsonComparison struct {
	Program     string      `json:"program"`
	Mode        string      `json:"mode,omitempty"`
	Faithful    bool        `json:"faithful,omitempty"`
	Server      string      `json:"server,omitempty"`
	Columns     []column    `json:"columns"`
	Missing     []column    `json:"missing,omitempty"`
	Rows        []jsonRow   `json:"rows"`
	Known       []jsonKnown `json:"known"`
	Unexplained int         `json:"unexplained"`
}

func (r *comparison) writeJSON(w io.Writer) error {
	used, unexplained := r.explanations()
	out := jsonComparison{Program: r.spec.program, Mode: r.spec.mode, Faithful: r.spec.faithful, Server: r.server,
		Columns: r.cols, Missing: r.missing, Rows: []jsonRow{}, Known: []jsonKnown{}, Unexplained: unexplained}
	for _, k := range used {
		out.Known = append(out.Known, jsonKnown{k.ID, k.Twin, k.Why})
	}
	for _, row := range r.rows {
		jr := jsonRow{Steps: map[string]*jsonStep{}}
		for i, st := range row.Steps {
			if st != nil {
				js := &jsonStep{Label: st.Label(), Key: st.Key(), Family: st.Family, Call: st.Call.String(), Result: st.Result()}
				if st.Loop.Times > 0 {
					js.Loop = &st.Loop
				}
				jr.Steps[r.cols[i].Name] = js
			}
		}
		for _, d := range row.Diffs {
			jd := jsonDiff{Twin: d.Twin, Kind: string(d.Kind), Family: d.Family, Symbol: d.Symbol}
			if d.Known != nil {
				jd.Known = d.Known.ID
			}
			jr.Differences = append(jr.Differences, jd)
		}
		out.Rows = append(out.Rows, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

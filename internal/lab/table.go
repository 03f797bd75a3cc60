package lab

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Table is one experiment's result as the lab prints it: a title, a
// header, rows of cells and notes under it.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	Notes  []string
}

// Text writes t with aligned columns, for a terminal.
func (t *Table) Text(w io.Writer) {
	widths := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range r {
			fmt.Fprintf(&b, " %-*s", widths[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintf(w, "%s\n\n", t.Title)
	line(t.Header)
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	line(rule)
	for _, r := range t.Rows {
		line(r)
	}
	for _, n := range t.Notes {
		for i, l := range wrap(n, 96) {
			if i == 0 {
				fmt.Fprintf(w, "  %s\n", l)
			} else {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	fmt.Fprintln(w)
}

// wrap cuts s into lines of at most width bytes, between words.
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
	return append(lines, line)
}

// Markdown writes t as a Markdown section, for report.md.
func (t *Table) Markdown(w io.Writer) {
	fmt.Fprintf(w, "## %s\n\n", t.Title)
	row := func(r []string) {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	row(t.Header)
	rule := make([]string, len(t.Header))
	for i := range rule {
		rule[i] = "---"
	}
	row(rule)
	for _, r := range t.Rows {
		row(r)
	}
	fmt.Fprintln(w)
	for _, n := range t.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(t.Notes) > 0 {
		fmt.Fprintln(w)
	}
}

// Table returns the table of experiment name, or nil if it did not run.
func (r *Results) Table(name string) *Table {
	switch {
	case name == "E1" && r.E1 != nil:
		return r.E1.Table()
	case name == "E2" && r.E2 != nil:
		return r.E2.Table()
	case name == "E3" && r.E3 != nil:
		return r.E3.Table()
	case name == "E4" && r.E4 != nil:
		return r.E4.Table()
	}
	return nil
}

func secs(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.3f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

func ratio(x float64) string { return fmt.Sprintf("%.2fx", x) }

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f us", float64(d)/float64(time.Microsecond))
}

func dur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%g ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

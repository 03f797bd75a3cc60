package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteReport writes into dir what res holds: results.json (the numbers),
// the SVG plots and report.md (the tables, the plots, the settings).
func WriteReport(dir string, res *Results) error {
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	plots, perr := res.Plots(dir)

	var b bytes.Buffer
	fmt.Fprintf(&b, "# socklab lab\n\n")
	mode := fmt.Sprintf("the tutorial's delays scaled by %g", res.Scale)
	if res.Faithful {
		mode = "--faithful: the tutorial's own numbers"
	}
	fmt.Fprintf(&b, "Run %s on %s/%s, %d CPUs, %s; %s; %d clients; %.1f s in all.\n\n",
		res.Started.Format(time.RFC3339), res.Host.GOOS, res.Host.GOARCH, res.Host.CPUs, res.Host.Go,
		mode, res.Clients, res.Elapsed)
	if res.Interrupted {
		fmt.Fprintf(&b, "**Interrupted** (Ctrl-C): only the experiments below were done.\n\n")
	}
	for _, name := range res.Ran {
		if name == "E0" {
			fmt.Fprintf(&b, "## %s\n\n```\n%s```\n\n", title(name), res.E0)
			continue
		}
		if t := res.Table(name); t != nil {
			t.Markdown(&b)
		}
		for _, f := range plots {
			if strings.EqualFold(strings.TrimSuffix(f, ".svg"), name) {
				fmt.Fprintf(&b, "![%s](%s)\n\n", name, f)
			}
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "- failed: %s\n", e)
	}
	return errors.Join(perr, os.WriteFile(filepath.Join(dir, "report.md"), b.Bytes(), 0o644))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

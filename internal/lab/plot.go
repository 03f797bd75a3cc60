package lab

import (
	"errors"
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The plots, drawn with gonum.org/v1/plot and written as SVG: E1 and E2 as
// bars of completion time with the limit as a line across them, E3 as the
// active client's latency against K on log axes.

// barPlot draws one bar a server, and the limit.
func barPlot(path, title, ylabel, limitName string, names []string, secs []float64, limit float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	bars, err := plotter.NewBarChart(plotter.Values(secs), vg.Points(18))
	if err != nil {
		return err
	}
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: limit}, {X: float64(len(secs)) - 0.5, Y: limit}})
	if err != nil {
		return err
	}
	line.Color = color.RGBA{R: 200, A: 255}
	line.Width = vg.Points(1.5)
	line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(bars, line)
	p.Legend.Add("completion time", bars)
	p.Legend.Add(limitName, line)
	p.Legend.Top = true
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.6
	p.X.Tick.Label.XAlign = -0.9
	return p.Save(vg.Length(max(6, len(names)))*vg.Inch, 4*vg.Inch, path)
}

// Plots writes the SVG plots of the experiments in res into dir and
// returns their file names.
func (r *Results) Plots(dir string) ([]string, error) {
	var files []string
	var errs []error
	save := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		files = append(files, name)
	}
	if r.E1 != nil && len(r.E1.Rows) > 0 {
		var names []string
		var secs []float64
		for _, row := range r.E1.Rows {
			names = append(names, row.Mode+"/"+row.Impl)
			secs = append(secs, row.Seconds)
		}
		save("e1.svg", barPlot(filepath.Join(dir, "e1.svg"),
			fmt.Sprintf("E1 UDP lengthy action: %d requests, %s each", r.E1.Clients, dur(seconds(r.E1.Delay))),
			"seconds", "physical limit (the delay)", names, secs, r.E1.Delay))
	}
	if r.E2 != nil && len(r.E2.Rows) > 0 {
		var names []string
		var secs []float64
		for _, row := range r.E2.Rows {
			names = append(names, row.Model+"/"+row.Impl)
			secs = append(secs, row.Seconds)
		}
		save("e2.svg", barPlot(filepath.Join(dir, "e2.svg"),
			fmt.Sprintf("E2 TCP slow clients: %d connections, %s a byte", r.E2.Clients, dur(seconds(r.E2.Dribble))),
			"seconds", "one client's dribble time", names, secs, r.E2.Limit))
	}
	if r.E3 != nil && r.E3.measured() {
		save("e3.svg", r.E3.plot(filepath.Join(dir, "e3.svg")))
	}
	return files, errors.Join(errs...)
}

// measured reports whether r has a point to plot: one measured without
// error (an interrupted run may have none), whose latencies a log axis
// can show.
func (r *IdleResult) measured() bool {
	for _, pt := range r.Points {
		if pt.Error == "" && pt.P50 > 0 && pt.P99 > 0 && pt.K > 0 {
			return true
		}
	}
	return false
}

// plot draws p50 (solid) and p99 (dashed) against K, one color a server.
// A log axis holds no zero: with no point measured there is no plot.
func (r *IdleResult) plot(path string) error {
	if !r.measured() {
		return errors.New("no point measured")
	}
	p := plot.New()
	p.Title.Text = "E3 idle connections: the active client's round trip"
	p.X.Label.Text = "K idle connections"
	p.Y.Label.Text = "round trip (us)"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	lo, hi := 0.0, 0.0
	for i, s := range idleServers() {
		for j, q := range []string{"p50", "p99"} {
			var xys plotter.XYs
			for _, pt := range r.Points {
				v := pt.P50
				if q == "p99" {
					v = pt.P99
				}
				if pt.Server == s[0] && pt.Error == "" && v > 0 && pt.K > 0 {
					y := float64(v) / 1e3
					xys = append(xys, plotter.XY{X: float64(pt.K), Y: y})
					if lo == 0 || y < lo {
						lo = y
					}
					hi = max(hi, y)
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
			pts.Shape = plotutil.Shape(i)
			if j == 1 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l, pts)
			p.Legend.Add(s[0]+" "+q, l, pts)
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/2, hi*30 // room above the curves for the legend
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Names lists the experiments, in the order Run runs them.
func Names() []string { return []string{"E0", "E1", "E2", "E3", "E4"} }

// Titles of the experiments, as the tables and the report name them.
func title(name string) string {
	switch name {
	case "E0":
		return "E0 UDP echo pair (sections 3-5)"
	case "E1":
		return "E1 UDP lengthy action (section 6)"
	case "E2":
		return "E2 TCP slow clients (section 6)"
	case "E3":
		return "E3 idle connections: the cost of each readiness model"
	case "E4":
		return "E4 echo throughput against the C twins"
	}
	return name
}

// The tutorial's own numbers (section 6).
const (
	TutorialClients = 20                     // UDPechoclient2.py's and echoclient2.py's threads
	TutorialDelay   = 5 * time.Second        // lengthy_action's sleep(5)
	TutorialDribble = 100 * time.Millisecond // the slow client's time.sleep(.1)
	DefaultScale    = 0.05                   // the default run: delays x 0.05, well under 60 s on 2 cores
)

// DefaultKs are E3's idle-connection counts.
func DefaultKs() []int { return []int{10, 100, 1000, 5000} }

// Config configures Run. Zero fields take the default run's values.
type Config struct {
	Self     string        // the socklab binary: traced (E0), re-exec'd (E1 fork-exec, prefork), run as servers (E3, E4)
	Only     []string      // experiments to run (Names); all when empty
	Scale    float64       // E1, E2: the tutorial's delays times Scale; DefaultScale when 0
	Faithful bool          // the tutorial's own numbers: Scale 1, 20 clients, longer measurements
	Clients  int           // E1, E2: requests or connections at once; TutorialClients when 0
	Ks       []int         // E3: idle-connection counts; DefaultKs when empty
	Duration time.Duration // E3: measuring time per point; E4: per run
	Word     string        // what the clients send; "Hello world" when empty
	Timeout  time.Duration // E0: bound on each request and traced run
	Src      string        // a socklab checkout, for the C twins of E4; found when empty
	Out      io.Writer     // the tables
	Progress *Progress     // what is running now; nil shows nothing
}

func (c Config) withDefaults() Config {
	if c.Faithful {
		c.Scale = 1
	}
	if c.Scale <= 0 {
		c.Scale = DefaultScale
	}
	if c.Clients <= 0 {
		c.Clients = TutorialClients
	}
	if len(c.Ks) == 0 {
		c.Ks = DefaultKs()
	}
	if c.Duration <= 0 {
		c.Duration = 500 * time.Millisecond
		if c.Faithful {
			c.Duration = 2 * time.Second
		}
	}
	if c.Word == "" {
		c.Word = "Hello world"
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// Delay is E1's lengthy action: the tutorial's 5 s times the scale.
func (c Config) Delay() time.Duration { return scaled(TutorialDelay, c.withDefaults().Scale) }

// Dribble is E2's pause between two bytes: the tutorial's 0.1 s times the scale.
func (c Config) Dribble() time.Duration { return scaled(TutorialDribble, c.withDefaults().Scale) }

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale).Round(time.Microsecond)
}

// Results is what a run measured; results.json is this.
type Results struct {
	Started     time.Time       `json:"started"`
	Elapsed     float64         `json:"elapsed_seconds"`
	Host        Host            `json:"host"`
	Scale       float64         `json:"scale"`
	Faithful    bool            `json:"faithful"`
	Clients     int             `json:"clients"`
	Ran         []string        `json:"ran"`
	Interrupted bool            `json:"interrupted,omitempty"`
	Errors      []string        `json:"errors,omitempty"`
	E0          string          `json:"e0,omitempty"` // the echo pair's report, as printed
	E1          *LengthyResult  `json:"e1,omitempty"`
	E2          *SlowResult     `json:"e2,omitempty"`
	E3          *IdleResult     `json:"e3,omitempty"`
	E4          *ThroughputRuns `json:"e4,omitempty"`
}

// Host is where the run ran.
type Host struct {
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
}

// ErrInterrupted is returned by Run when its context was cancelled
// (Ctrl-C): the experiments done so far are in the Results.
var ErrInterrupted = errors.New("interrupted")

// CheckOnly returns the canonical names of only (case does not matter),
// or an error naming the unknown one and the valid ones.
func CheckOnly(only []string) ([]string, error) {
	var out []string
	for _, n := range only {
		u := strings.ToUpper(strings.TrimSpace(n))
		if !slices.Contains(Names(), u) {
			return nil, fmt.Errorf("unknown experiment %q: want one or more of %s", n, strings.Join(Names(), ", "))
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// Run runs the experiments of cfg in order, printing each one's table to
// cfg.Out as soon as it is done, and returns what they measured. Every
// server an experiment starts is stopped before the experiment returns,
// on success, on failure and when ctx is cancelled; then Run returns the
// results so far and ErrInterrupted. A failed experiment is reported and
// the others still run; the error joins every failure.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	cfg = cfg.withDefaults()
	only, err := CheckOnly(cfg.Only)
	if err != nil {
		return nil, err
	}
	if len(only) == 0 {
		only = Names()
	}
	res := &Results{Started: time.Now(), Scale: cfg.Scale, Faithful: cfg.Faithful, Clients: cfg.Clients,
		Host: Host{runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()}}
	defer func() { res.Elapsed = time.Since(res.Started).Seconds() }()
	var errs []error
	for _, name := range Names() {
		if !slices.Contains(only, name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		cfg.Progress.Set("%s ...", title(name))
		err := runOne(ctx, name, cfg, res)
		cfg.Progress.Clear()
		res.Ran = append(res.Ran, name)
		if name == "E0" {
			fmt.Fprintf(cfg.Out, "%s\n\n%s\n", title(name), res.E0)
		} else if t := res.Table(name); t != nil {
			t.Text(cfg.Out)
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(cfg.Out, "%s failed: %v\n\n", name, err)
			res.Errors = append(res.Errors, name+": "+err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if ctx.Err() != nil {
		res.Interrupted = true
		return res, ErrInterrupted
	}
	return res, errors.Join(errs...)
}

func runOne(ctx context.Context, name string, cfg Config, res *Results) error {
	switch name {
	case "E0":
		var b strings.Builder
		err := Echo(&b, EchoConfig{Self: cfg.Self, Word: cfg.Word, Timeout: cfg.Timeout})
		res.E0 = b.String()
		return err
	case "E1":
		r, err := Lengthy(ctx, cfg)
		res.E1 = r
		return err
	case "E2":
		r, err := Slow(ctx, cfg)
		res.E2 = r
		return err
	case "E3":
		r, err := Idle(ctx, cfg)
		res.E3 = r
		return err
	case "E4":
		r, err := Throughput(ctx, cfg)
		res.E4 = r
		return err
	}
	return fmt.Errorf("no experiment %s", name)
}

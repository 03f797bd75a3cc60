package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/strace"
	"github.com/socklab/socklab/internal/testenv"
)

// pingNetns runs fn in a private network namespace (lo up) whose sysctls
// are set first: ping_group_range, and echoes ignored when silent. Processes
// fn starts live in it; nothing reaches the host's network.
func pingNetns(t *testing.T, groups string, silent bool, fn func() error) {
	t.Helper()
	err := netns.Do(func() error {
		set := map[string]string{"net/ipv4/ping_group_range": groups}
		if silent {
			set["net/ipv4/icmp_echo_ignore_all"] = "1"
		}
		for name, v := range set {
			if err := os.WriteFile("/proc/sys/"+name, []byte(v), 0); err != nil {
				return err
			}
		}
		return fn()
	})
	if errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN and CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

const pingAllGroups = "0 2147483647"

// pingRun runs argv to completion in the calling thread's namespace,
// killing it after limit.
func pingRun(limit time.Duration, argv []string, cred *syscall.Credential) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("%v still running after %v (hang): stderr %q", argv, limit, r.stderr)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return r, err
	}
	r.code = cmd.ProcessState.ExitCode()
	return r, nil
}

// pingImpls are the three programs with one command line: -c, -i and -W
// in seconds, and -u, which socklab spells --unprivileged.
func pingImpls(t *testing.T) []struct {
	name string
	argv func(unprivileged bool, args ...string) []string
} {
	c := cBinary(t, "icmp/testdata/ping.c")
	goArgv := func(impl string) func(bool, ...string) []string {
		return func(u bool, args ...string) []string {
			a := socklab("ping", "--impl", impl)
			if u {
				a = append(a, "--unprivileged")
			}
			return append(a, args...)
		}
	}
	return []struct {
		name string
		argv func(unprivileged bool, args ...string) []string
	}{
		{"raw", goArgv("raw")},
		{"net", goArgv("net")},
		{"c", func(u bool, args ...string) []string {
			a := []string{c}
			if u {
				a = append(a, "-u")
			}
			return append(a, args...)
		}},
	}
}

var pingModes = []struct {
	name         string
	unprivileged bool
}{{"raw-socket", false}, {"ping-socket", true}}

// normalize replaces what differs from run to run (times, identifiers)
// so that the three programs' outputs can be compared whole.
func normalize(out string) string {
	for _, r := range []struct{ re, with string }{
		{`time=\d+(\.\d+)? ms`, "time=T ms"},
		{`time \d+ms`, "time Nms"},
		{`mdev = [\d./]+ ms`, "mdev = R ms"},
		{`ICMP identifier \d+`, "ICMP identifier N"},
	} {
		out = regexp.MustCompile(r.re).ReplaceAllString(out, r.with)
	}
	return out
}

// `socklab ping -c 3 127.0.0.1` on each socket: raw, net and C print the
// same lines (iputils' format), exit 0, and take about two intervals.
func TestPingBehaviour(t *testing.T) {
	impls := pingImpls(t)
	for _, m := range pingModes {
		who := "from the process ID"
		if m.unprivileged {
			who = "chosen by the kernel for the ping socket"
		}
		want := `PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
ICMP identifier N, ` + who + `
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=T ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=T ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=T ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time Nms
rtt min/avg/max/mdev = R ms
`
		for _, im := range impls {
			t.Run(m.name+"/"+im.name, func(t *testing.T) {
				var r result
				pingNetns(t, pingAllGroups, false, func() (err error) {
					r, err = pingRun(20*time.Second, im.argv(m.unprivileged, "-c", "3", "-i", "0.05", "127.0.0.1"), nil)
					return err
				})
				t.Logf("\n%s", r.stdout)
				if r.code != 0 || r.stderr != "" {
					t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
				}
				if got := normalize(r.stdout); got != want {
					t.Errorf("output\n%s\nwant\n%s", got, want)
				}
				if r.elapsed < 100*time.Millisecond || r.elapsed > 10*time.Second {
					t.Errorf("took %v, want two intervals of 50ms and far less than 10s", r.elapsed)
				}
			})
		}
	}
}

// Nothing comes back: the summary says so, the exit status is 1, and -W
// bounds the wait after the last request.
func TestPingNoReply(t *testing.T) {
	for _, im := range pingImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			var r result
			pingNetns(t, pingAllGroups, true, func() (err error) {
				r, err = pingRun(20*time.Second, im.argv(false, "-c", "2", "-i", "0.02", "-W", "0.3", "127.0.0.1"), nil)
				return err
			})
			if r.code != 1 {
				t.Errorf("exit %d, want 1; stderr %q", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "2 packets transmitted, 0 received, 100% packet loss") || strings.Contains(r.stdout, "rtt ") {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			if im.name != "c" && r.stderr != "no reply from 127.0.0.1\n" {
				t.Errorf("stderr %q, want the one-line reason", r.stderr)
			}
			if r.elapsed < 300*time.Millisecond || r.elapsed > 10*time.Second {
				t.Errorf("took %v, want about 0.32s", r.elapsed)
			}
		})
	}
}

// SIGINT ends an endless ping with the summary and exit status 0, as
// iputils does.
func TestPingSIGINT(t *testing.T) {
	for _, im := range pingImpls(t) {
		for _, m := range pingModes {
			t.Run(m.name+"/"+im.name, func(t *testing.T) {
				var cmd *exec.Cmd
				var out testenv.Buffer
				argv := im.argv(m.unprivileged, "-i", "0.02", "127.0.0.1") // no -c: until SIGINT
				pingNetns(t, pingAllGroups, false, func() error {
					cmd = exec.Command(argv[0], argv[1:]...)
					cmd.Stdout, cmd.Stderr = &out, &out
					// No Pdeathsig: it fires when the forking thread exits,
					// and netns.Do's thread exits as soon as fn returns.
					return cmd.Start()
				})
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				defer func() {
					if cmd.ProcessState == nil {
						cmd.Process.Kill()
						<-done
					}
				}()
				for i := 0; i < 500 && !strings.Contains(out.String(), "icmp_seq=3 "); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				cmd.Process.Signal(syscall.SIGINT)
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("still running 5s after SIGINT:\n%s", out.String())
				}
				if code := cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("exit %d after SIGINT, want 0:\n%s", code, out.String())
				}
				if !regexp.MustCompile(`\n--- 127\.0\.0\.1 ping statistics ---\n\d+ packets transmitted, \d+ received, \d+% packet loss, time \d+ms\nrtt `).MatchString(out.String()) {
					t.Errorf("no summary after SIGINT:\n%s", out.String())
				}
			})
		}
	}
}

// Every input a user can get wrong: one line that says why, exit 2 for
// usage, 1 for a refused socket; nothing is sent anywhere but loopback.
func TestPingBadInput(t *testing.T) {
	usage := `\nUSAGE: socklab ping \[flags\] <ip>\n$`
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no destination", nil, `^expected 1 argument, got 0` + usage},
		{"two destinations", []string{"127.0.0.1", "127.0.0.2"}, `^expected 1 argument, got 2` + usage},
		{"raw name", []string{"localhost"}, `^invalid destination "localhost": the raw ping takes a dotted-quad IPv4 address and does no name lookup \(--impl net resolves names\)\n$`},
		{"raw 1.2.3", []string{"1.2.3"}, `^invalid destination "1.2.3": the raw ping takes a dotted-quad`},
		{"raw IPv6", []string{"::1"}, `^invalid destination "::1": the raw ping takes a dotted-quad`},
		{"net IPv6", []string{"--impl", "net", "::1"}, `^invalid destination "::1": ::1: not an IPv4 address\n$`},
		{"raw remote", []string{"192.0.2.1"}, `^refusing to ping 192.0.2.1: not a loopback address \(127.0.0.0/8\); pass --allow-remote for a host you own\n$`},
		{"net remote", []string{"--impl", "net", "192.0.2.1"}, `^refusing to ping 192.0.2.1: not a loopback address`},
		{"size too big", []string{"-s", "65508", "127.0.0.1"}, `^invalid -s 65508: want 0 to 65507 \(65535 less the IPv4 and ICMP headers\)\n$`},
		{"size negative", []string{"-s", "-1", "127.0.0.1"}, `^invalid -s -1: want 0 to 65507`},
		{"count 0", []string{"-c", "0", "127.0.0.1"}, `^invalid -c 0: want 1 to 10000\n$`},
		{"count too big", []string{"-c", "10001", "127.0.0.1"}, `^invalid -c 10001: want 1 to 10000\n$`},
		{"interval too short", []string{"-i", "0.001", "127.0.0.1"}, `^invalid -i 1ms: want 10ms to 1m0s\n$`},
		{"interval negative", []string{"-i", "-1", "127.0.0.1"}, `^invalid -i -1s: want 10ms to 1m0s\n$`},
		{"interval not a number", []string{"-i", "soon", "127.0.0.1"}, `^invalid value "soon" for flag -i: want seconds \(0.2\) or a duration \(200ms\)` + usage},
		{"timeout 0", []string{"-W", "0", "127.0.0.1"}, `^invalid -W 0s: want 1ms to 1m0s\n$`},
		{"timeout too long", []string{"-W", "2m", "127.0.0.1"}, `^invalid -W 2m0s: want 1ms to 1m0s\n$`},
		{"unknown impl", []string{"--impl", "cgo", "127.0.0.1"}, `^invalid --impl "cgo": want raw or net\n$`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, 10*time.Second, socklab(append([]string{"ping"}, c.args...)...)...)
			if r.code != 2 {
				t.Errorf("exit status %d, want 2; stderr %q", r.code, r.stderr)
			}
			if !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
				t.Errorf("stderr %q does not match %q", r.stderr, c.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q: a mistake gets its reason on stderr only", r.stdout)
			}
		})
	}
}

// ping_group_range excluding the user: the sysctl is named, with its
// value and the way out; exit 1. The C twin says the same.
func TestPingGroupRefused(t *testing.T) {
	for _, im := range pingImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			var r result
			pingNetns(t, "1 0", false, func() (err error) {
				r, err = pingRun(10*time.Second, im.argv(true, "-c", "1", "127.0.0.1"), nil)
				return err
			})
			want := fmt.Sprintf(`^Failed to create ping socket \(group %d is outside net\.ipv4\.ping_group_range, now "1 0"; `+
				`widen it with sysctl -w net\.ipv4\.ping_group_range="%d %d", or use a raw socket as root\): [Pp]ermission denied\n$`,
				os.Getegid(), os.Getegid(), os.Getegid())
			if r.code != 1 || !regexp.MustCompile(want).MatchString(r.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line matching %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

// Not root and no CAP_NET_RAW: the raw socket is refused with one line
// naming the capability and both ways out; exit 1. The programs run as
// nobody, from copies that nobody may execute.
func TestPingNoCapNetRaw(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs the programs as nobody, which needs root; as a user the raw socket is refused anyway")
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	for _, im := range pingImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			argv := im.argv(false, "-c", "1", "127.0.0.1")
			bin := filepath.Join(dir, im.name)
			data, err := os.ReadFile(argv[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin, data, 0o755); err != nil {
				t.Fatal(err)
			}
			argv[0] = bin
			var r result
			pingNetns(t, pingAllGroups, false, func() (err error) {
				r, err = pingRun(10*time.Second, argv, nobody)
				return err
			})
			want := `^Failed to create raw socket \(it needs CAP_NET_RAW: run as root, give the binary the capability with ` +
				`setcap cap_net_raw\+ep, or use --unprivileged\): [Oo]peration not permitted\n$`
			if r.code != 1 || !regexp.MustCompile(want).MatchString(r.stderr) {
				t.Errorf("exit %d, stderr %q; want 1 and one line matching %q", r.code, r.stderr, want)
			}
			// The way out it names works: nobody's group may open ping sockets here.
			argv = append([]string{bin}, im.argv(true, "-c", "1", "127.0.0.1")[1:]...)
			pingNetns(t, "65534 65534", false, func() (err error) {
				r, err = pingRun(10*time.Second, argv, nobody)
				return err
			})
			if r.code != 0 || !strings.Contains(r.stdout, "1 packets transmitted, 1 received") {
				t.Errorf("as nobody with the ping socket: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// The raw ping makes its C twin's network system calls, in the same
// order, on the same socket, on each kind of socket: no Go-only step at
// all on this path (Go's getpid and writes to stdout are not network
// calls; the shutdown of Stop is made only on SIGINT). Two requests 0.5s
// apart, in a namespace of their own, so that the sequence is the same
// every run: the raw socket sees its own request, then the reply, then
// the wait for the next request ends in EAGAIN.
func TestPingParity(t *testing.T) {
	if err := strace.Available(); err != nil {
		testenv.Missing(t, "strace (apt-get install strace)", err)
	}
	impls := pingImpls(t)
	args := []string{"-c", "2", "-i", "0.5", "-W", "5", "127.0.0.1"}
	wantC := map[bool]string{
		false: "socket sendto setsockopt recvmsg setsockopt recvmsg setsockopt recvmsg " +
			"sendto setsockopt recvmsg setsockopt recvmsg close",
		true: "socket bind getsockname setsockopt sendto setsockopt recvmsg setsockopt recvmsg " +
			"sendto setsockopt recvmsg close",
	}
	for _, m := range pingModes {
		t.Run(m.name, func(t *testing.T) {
			traces := map[string][]strace.Step{}
			for _, im := range impls {
				var extra []string
				if im.name == "net" {
					extra = strace.ReadinessSyscalls()
				}
				pingNetns(t, pingAllGroups, false, func() error {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					calls, out, err := strace.Run(ctx, filepath.Join(t.TempDir(), "trace"), im.argv(m.unprivileged, args...), extra...)
					if err != nil {
						return fmt.Errorf("%v\n%s", err, out)
					}
					checkNoNetlink(t, im.argv(m.unprivileged, args...), calls, out)
					traces[im.name] = strace.OfProc(strace.Network(calls), 1)
					return nil
				})
			}
			raw, net, c := traces["raw"], traces["net"], traces["c"]
			if got := families(c); got != wantC[m.unprivileged] {
				t.Fatalf("C ping: %s\nwant        %s", got, wantC[m.unprivileged])
			}
			if d := strace.Parity(raw, c); len(d) > 0 {
				t.Errorf("raw ping differs from its C twin:\n%s\nraw: %v\nC:   %v", strings.Join(d, "\n"), strace.Keys(raw), strace.Keys(c))
			}
			if got := families(raw); got != wantC[m.unprivileged] {
				t.Errorf("raw ping: %s\nwant       %s", got, wantC[m.unprivileged])
			}
			t.Logf("net twin: %v", strace.Keys(net))
			epoll := false
			for _, s := range net {
				epoll = epoll || s.Family == "epoll_ctl"
			}
			if !epoll || len(strace.Parity(net, c)) == 0 {
				t.Errorf("net twin: epoll_ctl %v, matches C %v; want its socket in the runtime's epoll and no parity", epoll, len(strace.Parity(net, c)) == 0)
			}
		})
	}
}

// The help text names the C twin and shows two examples on 127.0.0.1.
func TestPingHelp(t *testing.T) {
	r := runCmd(t, 10*time.Second, socklab("ping", "-h")...)
	if r.code != 0 || !strings.Contains(r.stdout, "icmp/testdata/ping.c") ||
		strings.Count(r.stdout, "\n  socklab ping ") != 2 || strings.Count(r.stdout, "127.0.0.1\n") != 2 {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

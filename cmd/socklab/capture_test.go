package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/netns"
	"github.com/socklab/socklab/internal/testenv"
	"github.com/socklab/socklab/sys"
)

// captureRun is a socklab capture started inside a private network
// namespace, with two UDP sockets there: a sends, b receives.
type captureRun struct {
	cmd      *exec.Cmd
	stdout   bytes.Buffer
	mu       sync.Mutex
	stderr   strings.Builder
	done     chan struct{}
	a, b, o  int // sockets: sender, receiver, and one on another port
	icmp     int // a raw ICMP socket
	bAddr    sys.SockaddrIn
	oAddr    sys.SockaddrIn
	pcapPath string
}

func (r *captureRun) Stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// startCapture makes a namespace, its sockets, and runs socklab capture
// there with args plus --port of b, until it reports it is listening.
func startCapture(t *testing.T, args ...string) *captureRun {
	t.Helper()
	return startCaptureOn(t, true, args...)
}

// startCaptureOn is startCapture, with --port of b only if port.
func startCaptureOn(t *testing.T, port bool, args ...string) *captureRun {
	t.Helper()
	r := &captureRun{a: -1, b: -1, o: -1, icmp: -1, done: make(chan struct{}), pcapPath: filepath.Join(t.TempDir(), "out.pcap")}
	t.Cleanup(func() {
		for _, fd := range []int{r.a, r.b, r.o, r.icmp} {
			if fd >= 0 {
				sys.Close(fd)
			}
		}
	})
	inside := false
	var ready chan struct{}
	err := netns.Do(func() error {
		inside = true
		var err error
		if r.a, _, err = loopbackUDP(); err != nil {
			return err
		}
		if r.b, r.bAddr, err = loopbackUDP(); err != nil {
			return err
		}
		if r.o, r.oAddr, err = loopbackUDP(); err != nil {
			return err
		}
		if r.icmp, err = sys.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP); err != nil {
			return err
		}
		head := []string{"capture", "-w", r.pcapPath}
		if port {
			head = append(head, "--port", fmt.Sprint(r.bAddr.PortOf()))
		}
		argv := socklab(append(head, args...)...)
		r.cmd = exec.Command(argv[0], argv[1:]...) // started on this thread: in the namespace
		r.cmd.Stdout = &r.stdout
		errPipe, err := r.cmd.StderrPipe()
		if err != nil {
			return err
		}
		if err := r.cmd.Start(); err != nil {
			return err
		}
		ready = make(chan struct{})
		go func() {
			sc := bufio.NewScanner(errPipe)
			for sc.Scan() {
				r.mu.Lock()
				r.stderr.WriteString(sc.Text() + "\n")
				r.mu.Unlock()
				if strings.HasPrefix(sc.Text(), "listening on lo") {
					close(ready)
				}
			}
			r.cmd.Wait()
			close(r.done)
		}()
		return nil
	})
	if !inside && errors.Is(err, unix.EPERM) {
		testenv.Missing(t, "CAP_SYS_ADMIN", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	select {
	case <-ready:
	case <-r.done:
		if strings.Contains(r.Stderr(), "CAP_NET_RAW") {
			testenv.Missing(t, "CAP_NET_RAW", errors.New(r.Stderr()))
		}
		t.Fatalf("capture exited before listening: %s", r.Stderr())
	case <-time.After(10 * time.Second):
		t.Fatalf("capture did not listen within 10s: %s", r.Stderr())
	}
	return r
}

// loopbackUDP opens a UDP socket on 127.0.0.1, port chosen by the kernel.
func loopbackUDP() (int, sys.SockaddrIn, error) {
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, sys.SockaddrIn{}, err
	}
	sa := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
	n := sys.SizeofSockaddrIn
	if err = sys.Bind(fd, &sa); err == nil {
		err = sys.Getsockname(fd, &sa, &n)
	}
	if err == nil {
		err = sys.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, 5*time.Second)
	}
	if err != nil {
		sys.Close(fd)
		return -1, sys.SockaddrIn{}, err
	}
	return fd, sa, nil
}

// send sends msg from a to `to` and reads it at rfd, so that the frame has
// crossed lo when it returns.
func (r *captureRun) send(t *testing.T, msg string, to *sys.SockaddrIn, rfd int) {
	t.Helper()
	if _, err := sys.Sendto(r.a, []byte(msg), 0, to); err != nil {
		t.Fatal(err)
	}
	var buf [256]byte
	n, err := sys.Recvfrom(rfd, buf[:], 0, nil, nil)
	if err != nil || string(buf[:n]) != msg {
		t.Fatalf("recvfrom got %q, %v; want %q", buf[:max(n, 0)], err, msg)
	}
}

// wait waits for the capture to exit and returns its status.
func (r *captureRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("capture did not exit within 10s: %s", r.Stderr())
	}
	return r.cmd.ProcessState.ExitCode()
}

// readPcap reads the capture's file back.
func (r *captureRun) readPcap(t *testing.T) []capture.Frame {
	t.Helper()
	f, err := os.Open(r.pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, err := capture.ReadPcap(f)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

// payloads returns the UDP payloads of frames, failing on any other frame.
func payloads(t *testing.T, frames []capture.Frame) []string {
	t.Helper()
	var out []string
	for _, f := range frames {
		u, ok := f.Packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			t.Fatalf("not a UDP frame: %s", f.Summary())
		}
		out = append(out, string(u.Payload))
	}
	return out
}

// capture -w in a private namespace, stopped by SIGINT: the file holds
// exactly the datagrams sent to the port, in order, not the one sent
// elsewhere; tcpdump -r reads it and prints the lines socklab printed.
func TestCaptureWrite(t *testing.T) {
	r := startCapture(t, "--proto", "udp")
	sent := []string{"one", "two", "three", strings.Repeat("x", 100)}
	for i, msg := range sent {
		r.send(t, msg, &r.bAddr, r.b)
		if i == 1 {
			r.send(t, "elsewhere", &r.oAddr, r.o) // another port: filtered out
		}
	}
	time.Sleep(200 * time.Millisecond) // two polls of the capture loop
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 0 {
		t.Fatalf("capture exit %d after SIGINT: %s", code, r.Stderr())
	}
	if !strings.Contains(r.Stderr(), fmt.Sprintf("%d frames captured", len(sent))) {
		t.Errorf("stderr %q does not count %d frames", r.Stderr(), len(sent))
	}
	frames := r.readPcap(t)
	if got := payloads(t, frames); strings.Join(got, "|") != strings.Join(sent, "|") {
		t.Fatalf("pcap holds %q, want %q", got, sent)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
	if len(lines) != len(sent) {
		t.Fatalf("%d lines printed, want %d:\n%s", len(lines), len(sent), r.stdout.String())
	}
	want := fmt.Sprintf("> 127.0.0.1.%d: UDP, length 3 \"one\"", r.bAddr.PortOf())
	if !strings.HasSuffix(lines[0], want) {
		t.Errorf("line %q does not end in %q", lines[0], want)
	}
	if !strings.HasSuffix(lines[3], `"`+strings.Repeat("x", previewBytes)+`"...`) {
		t.Errorf("line %q does not end in a cut preview", lines[3])
	}

	tcpdump := testenv.Tool(t, "tcpdump")
	out, err := exec.Command(tcpdump, "-nn", "-r", r.pcapPath).Output()
	if err != nil {
		t.Fatalf("tcpdump -r: %v", err)
	}
	tlines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(tlines) != len(sent) {
		t.Fatalf("tcpdump read %d frames, want %d:\n%s", len(tlines), len(sent), out)
	}
	for i, l := range tlines {
		if !strings.HasPrefix(lines[i], l) {
			t.Errorf("tcpdump prints %q, socklab printed %q", l, lines[i])
		}
	}
}

// -c stops the capture after COUNT frames, exit 0, file complete.
func TestCaptureCount(t *testing.T) {
	r := startCapture(t, "-c", "2", "--timeout", "20s")
	for _, msg := range []string{"a", "b", "c"} {
		r.send(t, msg, &r.bAddr, r.b)
	}
	if code := r.wait(t); code != 0 {
		t.Fatalf("capture -c 2: exit %d: %s", code, r.Stderr())
	}
	if got := payloads(t, r.readPcap(t)); strings.Join(got, "") != "ab" {
		t.Errorf("pcap holds %q, want a and b", got)
	}
	if n := strings.Count(r.stdout.String(), "\n"); n != 2 {
		t.Errorf("%d lines printed, want 2:\n%s", n, r.stdout.String())
	}
}

// --timeout stops a capture that sees nothing, exit 0, a valid empty file.
func TestCaptureTimeout(t *testing.T) {
	r := startCapture(t, "--timeout", "300ms")
	if code := r.wait(t); code != 0 {
		t.Fatalf("capture --timeout: exit %d: %s", code, r.Stderr())
	}
	if frames := r.readPcap(t); len(frames) != 0 {
		t.Errorf("pcap holds %d frames, want none", len(frames))
	}
}

func TestCaptureUnknownInterface(t *testing.T) {
	r := runCmd(t, 10*time.Second, socklab("capture", "-i", "nosuch0", "--timeout", "1s")...)
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "nosuch0: no such interface") {
		t.Errorf("exit %d, stderr %q; want 1 and one line naming the interface", r.code, r.stderr)
	}
}

// Without CAP_NET_RAW (dropped from the bounding set, so that even root
// lacks it after exec): one line naming the capability and setcap.
func TestCaptureNoCapNetRaw(t *testing.T) {
	want := "capturing needs CAP_NET_RAW; run as root, or grant it once with: sudo setcap cap_net_raw+ep "
	if got := perror(captureOpenError(os.NewSyscallError("socket", unix.EPERM), "lo")); !strings.Contains(got, want) {
		t.Errorf("message %q lacks %q", got, want)
	}
	setpriv := testenv.Tool(t, "setpriv")
	r := runCmd(t, 10*time.Second, setpriv, "--inh-caps=-all", "--bounding-set=-net_raw", socklabBin, "capture", "--timeout", "1s")
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want+socklabBin) {
		t.Errorf("without CAP_NET_RAW: exit %d, stderr %q; want 1 and one line with %q", r.code, r.stderr, want+socklabBin)
	}
}

func TestCaptureBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--proto", "igmp"}, `invalid --proto "igmp": want udp, tcp, icmp or any`},
		{[]string{"--proto", "icmp", "--port", "7"}, "--port needs --proto udp, tcp or any: ICMP has no ports"},
		{[]string{"--port", "70000"}, "invalid --port 70000"},
		{[]string{"--port=-1"}, "invalid --port -1"},
		{[]string{"-c=-1"}, "invalid -c -1"},
		{[]string{"--timeout=-1s"}, "invalid --timeout -1s"},
		{[]string{"-i", ""}, `invalid -i ""`},
		{[]string{"-i", "averyveryverylongname0"}, "an interface name has 1 to 15 bytes"},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"lo"}, "expected 0 arguments, got 1"},
	} {
		r := runCmd(t, 10*time.Second, socklab(append([]string{"capture"}, tc.args...)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("capture %q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// --proto icmp: an echo request sent on a raw socket, the kernel's reply,
// and the port unreachable that a datagram to a closed port draws, each
// line as tcpdump -nn prints it from the pcap file; with -v, the IPv4
// header's line as tcpdump -v prints it.
func TestCaptureICMP(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("v=%v", verbose), func(t *testing.T) {
			args := []string{"--proto", "icmp", "-c", "3", "--timeout", "20s"}
			if verbose {
				args = append(args, "-v")
			}
			r := startCaptureOn(t, false, args...)
			echo := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x1234, Seq: 1}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, echo, gopacket.Payload(make([]byte, 56))); err != nil {
				t.Fatal(err)
			}
			lo := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 0)
			if _, err := sys.Sendto(r.icmp, buf.Bytes(), 0, &lo); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the reply before the unreachable
			closed := sys.NewSockaddrIn([4]byte{127, 0, 0, 1}, 9)
			if _, err := sys.Sendto(r.a, []byte("knock"), 0, &closed); err != nil {
				t.Fatal(err)
			}
			if code := r.wait(t); code != 0 {
				t.Fatalf("capture exit %d: %s", code, r.Stderr())
			}
			got := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
			want := []string{
				"IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id 4660, seq 1, length 64",
				"IP 127.0.0.1 > 127.0.0.1: ICMP echo reply, id 4660, seq 1, length 64",
				"IP 127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 9 unreachable, length 41",
			}
			tcpdumpArgs := []string{"-nn", "-r", r.pcapPath}
			if verbose {
				tcpdumpArgs = append([]string{"-v"}, tcpdumpArgs...)
				want = []string{"ICMP echo request", "ICMP echo reply", "udp port 9 unreachable"}
			}
			if len(got) != len(want)*map[bool]int{false: 1, true: 2}[verbose] {
				t.Fatalf("printed:\n%s\nwant %d frames", r.stdout.String(), len(want))
			}
			out, err := exec.Command(testenv.Tool(t, "tcpdump"), tcpdumpArgs...).Output()
			if err != nil {
				t.Fatalf("tcpdump %v: %v", tcpdumpArgs, err)
			}
			tlines := strings.Split(strings.TrimSpace(string(out)), "\n")
			for i, w := range want {
				line := got[i]
				if verbose {
					line = got[2*i] + "\n" + got[2*i+1]
				}
				if !strings.Contains(line, w) {
					t.Errorf("frame %d: %q, want %q in it", i+1, line, w)
				}
			}
			// tcpdump's own lines, from the pcap file socklab wrote, begin
			// socklab's (tcpdump -v goes on after an unreachable with the
			// datagram it quotes, which socklab leaves out).
			if len(tlines) < len(got) || !verbose && len(tlines) != len(got) {
				t.Fatalf("tcpdump printed %d lines, socklab %d:\n%s", len(tlines), len(got), out)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tlines[i]) {
					t.Errorf("line %d: tcpdump prints %q, socklab printed %q", i+1, tlines[i], got[i])
				}
			}
			t.Logf("socklab:\n%s\ntcpdump %v:\n%s", r.stdout.String(), tcpdumpArgs[:len(tcpdumpArgs)-1], out)
		})
	}
}

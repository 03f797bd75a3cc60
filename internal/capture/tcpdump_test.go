package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/testenv"
)

// tcpdump runs tcpdump -r on a pcap file with extra flags and returns its
// standard output.
func tcpdump(t *testing.T, path string, flags ...string) string {
	t.Helper()
	bin := testenv.Tool(t, "tcpdump")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(flags, "-r", path)...).Output()
	if err != nil {
		t.Fatalf("tcpdump %v -r %s: %v", flags, path, err)
	}
	return string(out)
}

// writeFile writes frames to a pcap file in a temporary directory.
func writeFile(t *testing.T, frames []Frame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "frames.pcap")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = WritePcap(file, frames)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// tcpdumpOptions is the part of a tcpdump line that Summary leaves out.
var tcpdumpOptions = regexp.MustCompile(`, options \[[^]]*\]`)

// tcpdumpAgrees reads a pcap file with `tcpdump -nn -S -r` and checks that
// it lists the frames as Summary does, TCP options aside.
func tcpdumpAgrees(t *testing.T, path string, frames []Frame) {
	t.Helper()
	out := tcpdump(t, path, "-nn", "-S")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tcpdump listed %d frames, want %d:\n%s", len(lines), len(frames), out)
	}
	for i, line := range lines {
		_, got, _ := strings.Cut(line, " ") // after the time
		got = tcpdumpOptions.ReplaceAllString(got, "")
		if want := frames[i].Summary(); got != want {
			t.Errorf("frame %d:\ntcpdump: %s\n    ours: %s", i, line, want)
		}
	}
}

// tcpdump reads the stored frames as we decode them.
func TestTcpdumpStored(t *testing.T) {
	var frames []Frame
	for _, c := range storedFrames {
		frames = append(frames, stored(t, c.name, c.notReady))
	}
	tcpdumpAgrees(t, writeFile(t, frames), frames)
}

// tcpdump -vvv checks checksums too; it knows nothing of
// TP_STATUS_CSUMNOTREADY, so our verdicts are taken as if every frame's
// bytes were final.
func TestTcpdumpChecksums(t *testing.T) {
	var frames []Frame
	for _, c := range storedFrames {
		frames = append(frames, stored(t, c.name, false))
	}
	out := tcpdump(t, writeFile(t, frames), "-nn", "-vvv")
	// With -v each frame takes a line and its indented continuation.
	var records []string
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, " ") && len(records) > 0 {
			records[len(records)-1] += line
		} else {
			records = append(records, line)
		}
	}
	if len(records) != len(frames) {
		t.Fatalf("tcpdump listed %d frames, want %d:\n%s", len(records), len(frames), out)
	}
	for i, r := range records {
		ip, _ := frames[i].CheckIPv4()
		l4, _ := frames[i].CheckUDP()
		if storedFrames[i].udpLength == 0 {
			l4, _ = frames[i].CheckTCP()
		}
		tdIP := Good
		if strings.Contains(r, "bad cksum") {
			tdIP = Bad
		}
		tdL4 := Verdict(-1)
		switch {
		case strings.Contains(r, "[udp sum ok]"), strings.Contains(r, "(correct)"):
			tdL4 = Good
		case strings.Contains(r, "bad udp cksum"), strings.Contains(r, "(incorrect"):
			tdL4 = Bad
		}
		if ip != tdIP || l4 != tdL4 {
			t.Errorf("%s: ours IPv4 %v, transport %v; tcpdump says:\n%s", storedFrames[i].name, ip, l4, r)
		}
	}
}

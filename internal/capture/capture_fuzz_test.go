package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// storedSeeds returns the frames of testdata/*.hex, for seeding.
func storedSeeds(f *testing.F) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no stored frames: %v", err)
	}
	var frames [][]byte
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var h strings.Builder
		for line := range strings.Lines(string(b)) {
			if !strings.HasPrefix(line, "#") {
				h.WriteString(strings.TrimSpace(line))
			}
		}
		data, err := hex.DecodeString(h.String())
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		frames = append(frames, data)
	}
	return frames
}

// ones is the Internet checksum test by gopacket's own code: the one's
// complement sum of the parts folds to 0xffff.
func ones(parts ...[]byte) bool {
	return gopacket.FoldChecksum(gopacket.ComputeChecksum(bytes.Join(parts, nil), 0)) == 0
}

// FuzzDecode decodes arbitrary bytes as a captured frame. Nothing panics;
// a check that cannot judge says ErrNotChecked, and one that judges has
// the whole header or segment it judged, and agrees with gopacket's sum.
func FuzzDecode(f *testing.F) {
	for _, data := range storedSeeds(f) {
		f.Add(data, false)
		f.Add(data, true)
		for _, n := range []int{0, 5, 14, 20, 33, 34, 41, 42, len(data) - 1} {
			if n >= 0 && n < len(data) {
				f.Add(bytes.Clone(data[:n]), false)
			}
		}
		vlan := append(bytes.Clone(data[:12]), 0x81, 0x00, 0x00, 0x01) // 802.1Q tag before the IPv4 type
		f.Add(append(vlan, data[12:]...), false)
	}
	f.Add(append(make([]byte, 12), 0x08, 0x06), false) // ARP, no body
	f.Fuzz(func(t *testing.T, data []byte, notReady bool) {
		fr := Decode(gopacket.CaptureInfo{}, data)
		fr.CsumNotReady = notReady
		if fr.Length != len(data) || len(fr.Data) != len(data) || fr.Packet == nil {
			t.Fatalf("Decode of %d bytes: Length %d, %d bytes of data, packet %v", len(data), fr.Length, len(fr.Data), fr.Packet)
		}
		_, _ = fr.String(), fr.Verbose()
		ip, _ := fr.Packet.Layer(layers.LayerTypeIPv4).(*layers.IPv4)

		v, err := fr.CheckIPv4()
		switch {
		case err != nil:
			if v != Bad || !errors.Is(err, ErrNotChecked) {
				t.Fatalf("CheckIPv4: %v, %v; want Bad and ErrNotChecked", v, err)
			}
		case ip == nil || len(ip.Contents) < 20 || len(ip.Contents) != int(ip.IHL)*4:
			t.Fatalf("CheckIPv4 judged %v without a whole IPv4 header: %+v", v, ip)
		case (v == Good) != ones(ip.Contents) || v != Good && v != Bad:
			t.Fatalf("CheckIPv4 = %v on header % x", v, ip.Contents)
		}

		for _, c := range []struct {
			proto layers.IPProtocol
			check func() (Verdict, error)
		}{{layers.IPProtocolUDP, fr.CheckUDP}, {layers.IPProtocolTCP, fr.CheckTCP}} {
			v, err := c.check()
			if err != nil {
				if v != Bad || !errors.Is(err, ErrNotChecked) {
					t.Fatalf("%v check: %v, %v; want Bad and ErrNotChecked", c.proto, v, err)
				}
				continue
			}
			if ip == nil || len(ip.Contents) < 20 || ip.Protocol != c.proto ||
				len(ip.Contents)+len(ip.Payload) < int(ip.Length) {
				t.Fatalf("%v check judged %v without a whole IPv4 packet of that protocol", c.proto, v)
			}
			if v == NotReady {
				if !notReady {
					t.Fatalf("%v check: NotReady on a frame the kernel did not mark", c.proto)
				}
				continue
			}
			if notReady {
				t.Fatalf("%v check: %v on a frame marked partial", c.proto, v)
			}
			seg := ip.Payload
			if c.proto == layers.IPProtocolUDP {
				if n := int(binary.BigEndian.Uint16(seg[4:6])); n >= 8 && n <= len(seg) {
					seg = seg[:n]
				} else {
					if v != Bad {
						t.Fatalf("UDP length %d of a %d-byte segment: %v, want Bad", n, len(seg), v)
					}
					continue
				}
				if binary.BigEndian.Uint16(seg[6:8]) == 0 {
					if v != Absent {
						t.Fatalf("zero UDP checksum: %v, want Absent", v)
					}
					continue
				}
			}
			pseudo := append(bytes.Clone(ip.Contents[12:20]), 0, byte(c.proto), byte(len(seg)>>8), byte(len(seg)))
			if want := ones(pseudo, seg); (v == Good) != want || v != Good && v != Bad {
				t.Fatalf("%v check = %v, gopacket's sum says good=%v", c.proto, v, want)
			}
		}
	})
}

// FuzzReadPcap reads arbitrary bytes as a pcap file. Nothing panics, each
// frame read is decoded and no longer than its length, and the frames
// read survive being written and read again (times to the microsecond
// this package writes).
func FuzzReadPcap(f *testing.F) {
	var frames []Frame
	for i, data := range storedSeeds(f) {
		frames = append(frames, Decode(gopacket.CaptureInfo{Timestamp: time.Unix(1735819200+int64(i), 123456000)}, data))
	}
	var file bytes.Buffer
	if err := WritePcap(&file, frames); err != nil {
		f.Fatal(err)
	}
	good := file.Bytes()
	f.Add(bytes.Clone(good))
	f.Add(bytes.Clone(good[:24]))           // the header alone
	f.Add(bytes.Clone(good[:24+16+10]))     // a record cut short
	f.Add(bytes.Clone(good[:len(good)-1]))  // the last record cut short
	f.Add([]byte("not a pcap file at all")) // garbage
	nano := bytes.Clone(good)               // nanosecond magic, same records
	binary.LittleEndian.PutUint32(nano, 0xa1b23c4d)
	f.Add(nano)
	raw := bytes.Clone(good) // link type raw IP: refused
	binary.LittleEndian.PutUint32(raw[20:], 101)
	f.Add(raw)
	big := bytes.Clone(good[:24]) // big-endian header, snaplen 0
	binary.BigEndian.PutUint32(big, 0xa1b2c3d4)
	binary.BigEndian.PutUint16(big[4:], 2)
	binary.BigEndian.PutUint16(big[6:], 4)
	binary.BigEndian.PutUint32(big[16:], 0)
	binary.BigEndian.PutUint32(big[20:], 1)
	f.Add(append(big, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9, 1, 2, 3))
	late := bytes.Clone(good[:24]) // a record whose microseconds carry it past 2106
	late = binary.LittleEndian.AppendUint32(late, math.MaxUint32)
	late = binary.LittleEndian.AppendUint32(late, math.MaxUint32)
	late = binary.LittleEndian.AppendUint32(late, 14)
	late = binary.LittleEndian.AppendUint32(late, 14)
	f.Add(append(late, make([]byte, 14)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := ReadPcap(bytes.NewReader(data))
		if err != nil && len(frames) == 0 {
			return
		}
		for i, fr := range frames {
			if fr.Packet == nil || fr.Length < len(fr.Data) {
				t.Fatalf("frame %d: %d bytes of length %d, packet %v", i, len(fr.Data), fr.Length, fr.Packet)
			}
			_, _ = fr.String(), fr.Verbose()
		}
		var out bytes.Buffer
		if err := WritePcap(&out, frames); err != nil {
			t.Fatalf("writing %d frames read back: %v", len(frames), err)
		}
		back, err := ReadPcap(&out)
		if err != nil || len(back) != len(frames) {
			t.Fatalf("read %d frames, wrote them, read back %d: %v", len(frames), len(back), err)
		}
		for i := range frames {
			want := frames[i].Data[:min(len(frames[i].Data), Snaplen)]
			when := frames[i].Time.Truncate(time.Microsecond)
			if when.Unix() > math.MaxUint32 {
				// a microsecond field past 10^6 can carry a time past
				// 2106, which a pcap record's seconds cannot hold
				when = back[i].Time
			}
			if !bytes.Equal(back[i].Data, want) || back[i].Length != frames[i].Length || !back[i].Time.Equal(when) {
				t.Fatalf("frame %d: read %v, %d bytes of %d; after writing %v, %d bytes of %d",
					i, frames[i].Time, len(frames[i].Data), frames[i].Length, back[i].Time, len(back[i].Data), back[i].Length)
			}
		}
	})
}

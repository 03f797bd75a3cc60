package bench

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// fuzzSize maps a fuzzed number onto a message size, HeaderSize to
// MaxUDPSize (MaxTCPSize messages are the same pattern, longer).
func fuzzSize(n uint32) int { return HeaderSize + int(n%(MaxUDPSize-HeaderSize+1)) }

// A message fill writes carries its header, little-endian, where the
// UDP check reads it (sequence at 0, connection at 8, slot at 12); diff
// finds it whole and any other message different; and a shorter message
// is the longer one's beginning, so that a pattern never depends on the
// size.
func FuzzMessageRoundTrip(f *testing.F) {
	for _, size := range []uint32{0, 1, 7, 8, 9, 48, 984, MaxUDPSize - HeaderSize} {
		f.Add(uint32(3), uint32(7), uint64(42), size, uint32(5))
	}
	f.Add(uint32(0), uint32(0), uint64(0), uint32(0), uint32(0))
	f.Add(uint32(math.MaxUint32), uint32(math.MaxUint32), uint64(math.MaxUint64), uint32(100), uint32(99))
	f.Add(uint32(1), uint32(0), uint64(1)<<63, uint32(1), uint32(0))
	f.Fuzz(func(t *testing.T, conn, slot uint32, seq uint64, size, shorter uint32) {
		n := fuzzSize(size)
		p := make([]byte, n)
		fill(p, conn, slot, seq)
		if s, c, sl := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint32(p[8:]), binary.LittleEndian.Uint32(p[12:]); s != seq || c != conn || sl != slot {
			t.Fatalf("message (%d, %d, %d) of %d bytes reads back as (%d, %d, %d)", conn, slot, seq, n, c, sl, s)
		}
		if off, _ := diff(p, conn, slot, seq); off != -1 {
			t.Fatalf("message (%d, %d, %d) of %d bytes: diff says byte %d differs", conn, slot, seq, n, off)
		}
		for _, other := range [][3]uint64{{uint64(conn) ^ 1, uint64(slot), seq}, {uint64(conn), uint64(slot) ^ 1, seq}, {uint64(conn), uint64(slot), seq + 1}} {
			if off, _ := diff(p, uint32(other[0]), uint32(other[1]), other[2]); off < 0 || off >= HeaderSize {
				t.Fatalf("message (%d, %d, %d) taken for (%d, %d, %d): diff %d", conn, slot, seq, other[0], other[1], other[2], off)
			}
		}
		m := HeaderSize + int(shorter)%(n-HeaderSize+1)
		q := make([]byte, m)
		fill(q, conn, slot, seq)
		if !bytes.Equal(q, p[:m]) {
			t.Fatalf("message (%d, %d, %d): %d bytes are not the start of %d", conn, slot, seq, m, n)
		}
	})
}

// diff, the check of every echo, takes any bytes, of any length, and
// returns exactly the first offset where they differ from the message
// fill would write, with fill's byte there.
func FuzzDiff(f *testing.F) {
	for _, n := range []int{0, 1, 15, 16, 17, 23, 24, 25, 64} {
		p := make([]byte, max(n, HeaderSize))
		fill(p, 3, 7, 42)
		f.Add(p[:n], uint32(3), uint32(7), uint64(42))
		if n > 0 {
			bad := bytes.Clone(p[:n])
			bad[n-1] ^= 0x80
			f.Add(bad, uint32(3), uint32(7), uint64(42))
		}
	}
	f.Add([]byte("not a bench message at all"), uint32(0), uint32(0), uint64(0))
	f.Fuzz(func(t *testing.T, p []byte, conn, slot uint32, seq uint64) {
		ref := make([]byte, max(len(p), HeaderSize))
		fill(ref, conn, slot, seq)
		ref = ref[:len(p)]
		first := -1
		for i := range p {
			if p[i] != ref[i] {
				first = i
				break
			}
		}
		off, want := diff(p, conn, slot, seq)
		if off != first || off >= 0 && want != ref[off] {
			t.Fatalf("diff of %d bytes against (%d, %d, %d) = %d, %#02x; first difference at %d", len(p), conn, slot, seq, off, want, first)
		}
	})
}

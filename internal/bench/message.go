package bench

import "encoding/binary"

// HeaderSize is the smallest message: sequence number (8 bytes), connection
// (4) and slot (4), little-endian. The bytes after it are a pattern
// generated from those three numbers, so that a message can be checked
// without keeping a copy of it.
const HeaderSize = 16

// fill writes the message (conn, slot, seq) into p, all of it.
func fill(p []byte, conn, slot uint32, seq uint64) {
	binary.LittleEndian.PutUint64(p, seq)
	binary.LittleEndian.PutUint32(p[8:], conn)
	binary.LittleEndian.PutUint32(p[12:], slot)
	x := seed(conn, slot, seq)
	i := HeaderSize
	for ; i+8 <= len(p); i += 8 {
		x = next(x)
		binary.LittleEndian.PutUint64(p[i:], x)
	}
	if i < len(p) {
		var t [8]byte
		binary.LittleEndian.PutUint64(t[:], next(x))
		copy(p[i:], t[:])
	}
}

// diff compares p with the message (conn, slot, seq) of the same length
// and returns the offset of the first byte that differs and the byte
// expected there, or -1.
func diff(p []byte, conn, slot uint32, seq uint64) (int, byte) {
	var h [HeaderSize]byte
	binary.LittleEndian.PutUint64(h[:], seq)
	binary.LittleEndian.PutUint32(h[8:], conn)
	binary.LittleEndian.PutUint32(h[12:], slot)
	for i := range min(len(p), HeaderSize) {
		if p[i] != h[i] {
			return i, h[i]
		}
	}
	x := seed(conn, slot, seq)
	var t [8]byte
	for i := HeaderSize; i < len(p); i += 8 {
		x = next(x)
		if i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:]) == x {
			continue
		}
		binary.LittleEndian.PutUint64(t[:], x)
		for j := 0; j < 8 && i+j < len(p); j++ {
			if p[i+j] != t[j] {
				return i + j, t[j]
			}
		}
	}
	return -1, 0
}

func seed(conn, slot uint32, seq uint64) uint64 {
	return seq*0x9e3779b97f4a7c15 ^ uint64(conn)<<40 ^ uint64(slot)<<16 ^ 0x5ca1ab1e
}

// next is one step of a 64-bit linear congruential generator (Knuth's
// MMIX constants) with its high bits folded down: cheap, and no byte of
// one message's pattern repeats another's at the same offset by accident.
func next(x uint64) uint64 {
	x = x*6364136223846793005 + 1442695040888963407
	return x ^ x>>29
}

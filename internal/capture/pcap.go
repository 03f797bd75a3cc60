package capture

import (
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Snaplen is the most bytes of a frame a Capture keeps and the snapshot
// length written in pcap files, tcpdump's classic 65535.
const Snaplen = 65535

// Writer writes frames to a pcap file (LINKTYPE_ETHERNET, microsecond
// timestamps) that tcpdump -r and Wireshark read.
type Writer struct {
	w *pcapgo.Writer
}

// NewWriter writes the pcap file header to w and returns a Writer for the
// frames that follow.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("capture: pcap header: %w", err)
	}
	return &Writer{w: pw}, nil
}

// WriteFrame appends one frame, cut to Snaplen bytes.
func (w *Writer) WriteFrame(f Frame) error {
	data := f.Data
	if len(data) > Snaplen {
		data = data[:Snaplen]
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     f.Time,
		CaptureLength: len(data),
		Length:        max(f.Length, len(f.Data)),
	}
	if err := w.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("capture: pcap record: %w", err)
	}
	return nil
}

// WritePcap writes a whole pcap file: the header, then frames.
func WritePcap(w io.Writer, frames []Frame) error {
	pw, err := NewWriter(w)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := pw.WriteFrame(f); err != nil {
			return err
		}
	}
	return nil
}

// ReadPcap reads every frame of a pcap file whose link type is Ethernet,
// decoding each one as Decode does.
func ReadPcap(r io.Reader) ([]Frame, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("capture: pcap: %w", err)
	}
	if lt := pr.LinkType(); lt != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("capture: pcap link type %v, want Ethernet", lt)
	}
	var frames []Frame
	for { // bounded by the input: every turn consumes a record or stops
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return frames, fmt.Errorf("capture: pcap record %d: %w", len(frames), err)
		}
		frames = append(frames, Decode(ci, data))
	}
}

package udp

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/socklab/socklab/sys"
)

// Batched UDP echo server, the Go mirror of testdata/echo_server_batch.c:
//
//	loop { recvmmsg(up to N, MSG_WAITFORONE) -> report each -> sendmmsg(n) }
//
// Not a tutorial program: the performance variant behind
// `udp-echo-server --batch N`. One recvmmsg call takes every datagram that
// is already queued, up to N, and one sendmmsg answers them all, so the
// cost of entering the kernel is shared by the batch. Listen and Stop are
// the ones of echo_server.go. Truncated datagrams are reported and left
// out of the reply batch, as in Echo.

// MaxBatch bounds EchoConfig.Batch.
const MaxBatch = 1024

// EchoBatch is Echo with recvmmsg/sendmmsg, cfg.Batch datagrams a call at
// most. It returns nil once Stop is called on fd, and allocates nothing
// per batch.
func EchoBatch(fd int, cfg EchoConfig) error {
	n := cfg.Batch
	if n < 1 || n > MaxBatch {
		return fmt.Errorf("batch %d: must be 1 to %d", n, MaxBatch)
	}
	w := cfg.log()
	b := sys.NewMmsgBatch(n, cfg.bufSize())
	out := make([]sys.Mmsghdr, n) // the replies, compacted
	line := make([]byte, 0, 64)
	guard := newGuard(cfg.Guard, w)
	defer guard.flush()
	for !stopping(cfg.Done) {
		b.Reset()
		got, err := sys.Recvmmsg(fd, b.Hdrs, unix.MSG_WAITFORONE)
		if err != nil {
			return fmt.Errorf("Failed to receive messages: %w", err)
		}
		k, stopped := 0, false
		for i := range got {
			h := &b.Hdrs[i]
			if h.Hdr.Namelen == 0 {
				stopped = true // shut down by Stop: no datagram, no sender
				break
			}
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
				fmt.Fprintf(w, "Datagram from %s truncated: buffer %d; not echoed\n",
					b.Addrs[i].String(), len(b.Bufs[i]))
				continue
			}
			if guard.refuses(b.Addrs[i].Addr, b.Addrs[i].PortOf()) {
				continue // the loop guard (guard.go): left out of the replies
			}
			if !cfg.Quiet {
				line = append(sys.AppendInetNtoa(append(line[:0], "Client connected: "...), b.Addrs[i].Addr), '\n')
				w.Write(line)
			}
			b.SetLen(i, int(h.Len))
			out[k] = *h
			k++
		}
		for sent := 0; sent < k; {
			m, err := sys.Sendmmsg(fd, out[sent:k], unix.MSG_DONTWAIT)
			if err != nil {
				fmt.Fprintf(w, "Failed to send messages: %d replies dropped: %v\n", k-sent, err)
				break
			}
			sent += m
		}
		if stopped {
			return nil
		}
	}
	return nil // Done
}

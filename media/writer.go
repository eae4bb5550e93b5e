package media

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// RFC 3550 A.1: a sequence jump larger than this within one SSRC is taken as
// a restart of the sender, not as loss.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// streamWriter is the one writer of an outgoing RTP stream (the stream the
// gateway sends toward one side). It owns the SSRC, sequence number and
// timestamp the far end sees, whatever feeds the stream: the bridged peer's
// packets (relay) or the gateway's own audio, prompts and tones (Play, through
// WritePayload).
//
// While one source feeds it, the source's sequence and timestamp are mapped
// by a fixed offset, so loss and reordering stay visible to the receiver's
// jitter buffer (RFC 3550 A.1/A.8 need the gaps). When the source changes (a
// new SSRC, a sender restart, or switching between peer and local audio) the
// sequence continues from the last one sent, the timestamp advances by the
// wall-clock time since the last packet, and the marker bit is set (RFC 3551
// 4.1: the marker flags the start of a talkspurt, i.e. a timing discontinuity
// the receiver should not smooth over).
type streamWriter struct {
	conn      udpConn
	clockRate uint32
	epoch     time.Time

	mu   sync.Mutex // the relay goroutine and a Play
	ssrc uint32

	sent        bool
	seq         uint16 // last sent (highest)
	ts          uint32 // timestamp of the last sent (highest seq) packet
	lastSamples uint32 // duration of that packet
	lastSend    int64  // ns since epoch

	src        uint32 // SSRC of the peer source
	srcValid   bool   // the peer is the current source
	srcLastSeq uint16
	seqOff     uint16
	tsOff      uint32

	buf [12 + 1500]byte // header + payload for WritePayload
}

func newStreamWriter(conn udpConn, clockRate uint32) *streamWriter {
	return &streamWriter{
		conn:      conn,
		clockRate: clockRate,
		epoch:     time.Now(),
		ssrc:      rand.Uint32(),
		// RFC 3550 5.1: random initial sequence number and timestamp.
		seq: uint16(rand.Uint32()),
		ts:  rand.Uint32(),
	}
}

// advance returns how far the timestamp moves on a source switch: the wall
// time since the last packet, but never less than that packet's duration,
// so two sources never overlap on the receiver's timeline.
func (w *streamWriter) advance(now int64) uint32 {
	adv := uint32(uint64(now-w.lastSend) * uint64(w.clockRate) / uint64(time.Second))
	return max(adv, w.lastSamples, 1)
}

// relay rewrites the RTP header of pkt in place (payload type pt, our SSRC,
// mapped sequence and timestamp) and sends it to dst. samples is the
// packet's duration in clock ticks (0 when unknown, as for events).
func (w *streamWriter) relay(pkt []byte, pt uint8, samples uint32, dst netip.AddrPort) error {
	inSeq := binary.BigEndian.Uint16(pkt[2:])
	inTS := binary.BigEndian.Uint32(pkt[4:])
	inSSRC := binary.BigEndian.Uint32(pkt[8:])
	marker := pkt[1] & 0x80
	now := int64(time.Since(w.epoch))

	w.mu.Lock()
	delta := int16(inSeq - w.srcLastSeq)
	if !w.srcValid || inSSRC != w.src || delta > maxDropout || delta < -maxMisorder {
		if w.sent {
			w.seqOff = w.seq + 1 - inSeq
			w.tsOff = w.ts + w.advance(now) - inTS
			marker = 0x80
		} else {
			w.seqOff = w.seq - inSeq
			w.tsOff = w.ts - inTS
		}
		w.src, w.srcValid, w.srcLastSeq, delta = inSSRC, true, inSeq, 1
	}
	outSeq := inSeq + w.seqOff
	outTS := inTS + w.tsOff
	if delta > 0 || !w.sent {
		w.srcLastSeq = inSeq
		w.seq, w.ts, w.lastSamples, w.lastSend, w.sent = outSeq, outTS, samples, now, true
	}
	w.mu.Unlock()

	pkt[1] = marker | pt
	binary.BigEndian.PutUint16(pkt[2:], outSeq)
	binary.BigEndian.PutUint32(pkt[4:], outTS)
	binary.BigEndian.PutUint32(pkt[8:], w.ssrc)
	_, err := w.conn.WriteToUDPAddrPort(pkt, dst)
	return err
}

// WritePayload sends local audio (payload of type pt, samples clock ticks
// long) as the next packet of the stream. The first packet after the peer
// fed the stream starts a new talkspurt (marker set, timestamp advanced by
// wall time). Payloads larger than 1500 bytes are cut.
func (w *streamWriter) WritePayload(pt uint8, payload []byte, samples uint32, dst netip.AddrPort) error {
	now := int64(time.Since(w.epoch))
	w.mu.Lock()
	defer w.mu.Unlock()
	var marker byte
	switch {
	case !w.sent:
		marker = 0x80
	case w.srcValid:
		w.ts += w.advance(now)
		w.seq++
		marker = 0x80
	default:
		w.ts += w.lastSamples
		w.seq++
	}
	w.srcValid = false
	w.sent, w.lastSamples, w.lastSend = true, samples, now
	b := w.buf[:]
	b[0] = 0x80 // V=2
	b[1] = marker | pt&0x7f
	binary.BigEndian.PutUint16(b[2:], w.seq)
	binary.BigEndian.PutUint32(b[4:], w.ts)
	binary.BigEndian.PutUint32(b[8:], w.ssrc)
	n := 12 + copy(b[12:], payload)
	_, err := w.conn.WriteToUDPAddrPort(b[:n], dst)
	return err
}

package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrBadEvent is returned (wrapped) for a DTMF event that cannot be
// understood: a short telephone-event payload, a SIP INFO body without a
// digit, an unknown INFO content type, or a character that is no DTMF key.
var ErrBadEvent = errors.New("media: bad DTMF event")

// TelephoneEvent is the RTP payload of RFC 4733 2.3 (the telephone-event
// media type): which event, whether this packet ends it, its volume, and
// how long it has lasted so far.
type TelephoneEvent struct {
	Event    uint8  // 0-15 are the DTMF keys (RFC 4733 3.2), see EventDigit
	End      bool   // E bit: the event has ended (RFC 4733 2.3.2)
	Volume   uint8  // power level, 0 to 63 as -dBm0 (RFC 4733 2.3.4)
	Duration uint16 // in timestamp units since the event's timestamp (2.3.5)
}

// ParseTelephoneEvent decodes a telephone-event payload. RFC 4733 2.5.1.5
// lets a packet carry several events one after the other; DTMF senders do
// not use that, and only the first 4 bytes are decoded.
func ParseTelephoneEvent(p []byte) (TelephoneEvent, error) {
	if len(p) < 4 {
		return TelephoneEvent{}, fmt.Errorf("%w: telephone-event payload of %d bytes, need 4", ErrBadEvent, len(p))
	}
	// Byte 1 is E, R and the 6-bit volume; R is reserved and "the receiver
	// MUST ignore it" (RFC 4733 2.3.3).
	return TelephoneEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// EventDigit is the key of a DTMF event code (RFC 4733 3.2, table 1):
// 0-9 the digits, 10 '*', 11 '#', 12-15 'A'-'D'. Other events (16 is a
// hook flash) are not keys.
func EventDigit(event uint8) (rune, bool) {
	switch {
	case event <= 9:
		return rune('0' + event), true
	case event == 10:
		return '*', true
	case event == 11:
		return '#', true
	case event <= 15:
		return rune('A' + event - 12), true
	}
	return 0, false
}

// DigitEvent is the RFC 4733 event code of a key: the inverse of
// EventDigit, accepting 'a'-'d' as well.
func DigitEvent(r rune) (uint8, bool) {
	switch {
	case r >= '0' && r <= '9':
		return uint8(r - '0'), true
	case r == '*':
		return 10, true
	case r == '#':
		return 11, true
	case r >= 'A' && r <= 'D':
		return uint8(r-'A') + 12, true
	case r >= 'a' && r <= 'd':
		return uint8(r-'a') + 12, true
	}
	return 0, false
}

// eventStaleWindow is how far back a timestamp is taken for a late packet
// of an earlier event (an end retransmission that arrives after the next
// digit began) rather than a new event: 10 s. Further back it is a new
// event, so that a stream whose timestamps jump (a new SSRC after a
// re-INVITE) does not go deaf.
const eventStaleWindow = 10 * SampleRate

// EventTracker turns a stream of telephone-event packets into key presses,
// each reported once. The zero value is ready to use; one tracker follows
// one RTP stream.
type EventTracker struct {
	seen  bool
	ts    uint32 // timestamp of the current event
	event uint8
	end   bool   // an end packet of the current event has been seen
	dur   uint16 // longest duration seen for the current event
}

// Observe takes the RTP timestamp and payload of one telephone-event packet
// and returns the key if the packet starts a new DTMF event.
//
// RFC 4733 2.5.1.2: every packet of an event carries the event's start
// timestamp, with a growing duration; 2.5.1.4: the end packet is sent three
// times. So the timestamp identifies the event: the first packet with a new
// timestamp reports the key at once (the caller hears it when pressed, and
// a lost end packet loses nothing); later packets with the same timestamp
// are ignored. Pressing the same key twice gives two timestamps, two
// reports. Events that are no key (flash, 16 and above) report nothing.
func (t *EventTracker) Observe(ts uint32, ev TelephoneEvent) (digit rune, ok bool) {
	if t.seen {
		age := t.ts - ts // serial arithmetic: the timestamp wraps
		switch {
		case age == 0:
			t.end = t.end || ev.End
			t.dur = max(t.dur, ev.Duration)
			return 0, false
		case age < eventStaleWindow:
			return 0, false // a late packet of an earlier event
		case t.continues(ts, ev):
			// RFC 4733 2.5.1.3: an event longer than the duration field
			// holds (0xFFFF units, 8.2 s) goes on in a new segment with a
			// timestamp of its own; 2.5.2.3: the receiver joins them.
			t.ts, t.dur = ts, ev.Duration
			t.end = ev.End
			return 0, false
		}
	}
	t.seen, t.ts, t.event, t.end, t.dur = true, ts, ev.Event, ev.End, ev.Duration
	return EventDigit(ev.Event)
}

// continues tells whether a packet with a new timestamp is the next segment
// of a long event: the same event, the previous segment not ended and
// near the longest duration, and the new timestamp where that segment ran
// out (with a second of slack for lost packets).
func (t *EventTracker) continues(ts uint32, ev TelephoneEvent) bool {
	return ev.Event == t.event && !t.end && t.dur >= 0xF000 &&
		ts-t.ts <= uint32(t.dur)+SampleRate
}

// Reset forgets the current event, for a new RTP stream (another SSRC).
func (t *EventTracker) Reset() {
	*t = EventTracker{}
}

// ParseDTMFInfo reads the key of a SIP INFO request's body (the common
// practice, no RFC: RFC 6086 leaves INFO packages to their users).
// application/dtmf-relay bodies are lines of key=value, e.g.
// "Signal=5\r\nDuration=160"; keys are case-insensitive, Signal is a key
// (0-9, *, #, A-D) or its RFC 4733 event number (10 for *, 11 for #, and
// 12-15 for A-D by the same table). application/dtmf bodies are the key
// alone. The content type is compared
// without case and without its parameters.
func ParseDTMFInfo(contentType string, body []byte) (rune, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "application/dtmf-relay"):
		for line := range bytes.Lines(body) {
			key, val, ok := bytes.Cut(line, []byte("="))
			if ok && strings.EqualFold(string(bytes.TrimSpace(key)), "signal") {
				return parseSignal(bytes.TrimSpace(val))
			}
		}
		return 0, fmt.Errorf("%w: dtmf-relay body without Signal", ErrBadEvent)
	case strings.EqualFold(mt, "application/dtmf"):
		if k := bytes.TrimSpace(body); len(k) == 1 {
			return parseSignal(k)
		}
		return 0, fmt.Errorf("%w: dtmf body %q", ErrBadEvent, clip(string(body)))
	}
	return 0, fmt.Errorf("%w: INFO content type %q", ErrBadEvent, clip(mt))
}

// parseSignal reads a key or an event number 0-15.
func parseSignal(v []byte) (rune, error) {
	if len(v) == 1 {
		if e, ok := DigitEvent(rune(v[0])); ok {
			d, _ := EventDigit(e) // upper case for a-d
			return d, nil
		}
	}
	if len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5' {
		d, _ := EventDigit(10 + v[1] - '0')
		return d, nil
	}
	return 0, fmt.Errorf("%w: signal %q", ErrBadEvent, clip(string(v)))
}

// clip shortens what a peer sent for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// In-band DTMF detection.
//
// The detector measures the power at the 8 DTMF frequencies with the
// Goertzel algorithm over blocks of toneBlock samples and decides per block
// whether one digit is present. At 105 samples (13 ms) a Goertzel filter's
// main lobe is 2*8000/105 = 152 Hz wide: narrow enough to tell neighbouring
// rows apart (73-89 Hz apart, the next row falls near the first null), short
// enough that a 40 ms digit (the shortest ITU-T Q.24 asks to accept) spans
// at least two whole blocks wherever it starts.
const toneBlock = 105

const (
	// toneMinPowerDBm0 is the least power of a block that is looked at:
	// -30 dBm0. Keypads send about -8/-6 dBm0 per tone and a long line
	// takes up to 20 dB off; -30 dBm0 for the pair (two tones of -33 dBm0)
	// keeps 5 dB of margin below two tones of -25 dBm0. Quieter blocks
	// cost only the sum of squares.
	toneMinPowerDBm0 = -30.0
	// toneRelPeak: the strongest tone of each group must be 6 dB above
	// each other tone of its group (one tone, not a spread of them).
	toneRelPeak = 3.98
	// Twist, the level difference of the two tones: the column tone may
	// be up to 8 dB weaker than the row tone (the line loses more at
	// higher frequencies; "normal twist") and up to 4 dB stronger
	// ("reverse twist"), the usual limits of DTMF receivers.
	toneMaxColWeaker   = 6.31 // 8 dB
	toneMaxColStronger = 2.51 // 4 dB
	// toneMinShare: the two tones must carry 85 % of the block's power.
	// A keypad's pair carries nearly all of it (98-99 % with white noise
	// 20 dB down; all 16 digits are still found with noise 12 dB down, a
	// few are missed at 10 dB). Speech and music spread theirs over many
	// frequencies: the synthetic vowels of the tests, with formants
	// sweeping across both DTMF groups, reach 67 %.
	toneMinShare = 0.85
	// toneMinBlocks: a digit counts once present in 2 blocks in a row
	// (26 ms); a single block can be a chance match in speech, and a
	// 20 ms burst is not a press.
	toneMinBlocks = 2
	// toneReleaseBlocks: a reported digit is released after 3 blocks
	// (39 ms) without it. A pause of 40 ms (the shortest ITU-T Q.24 asks
	// to accept between digits) always holds 3 blocks without the digit,
	// so two presses of one key are two digits; a dropout of up to 13 ms
	// spoils at most 2 blocks and does not make a long press two.
	toneReleaseBlocks = 3
)

// toneMinPower is toneMinPowerDBm0 as mean square of 16-bit samples: a sine
// of peak a has mean square a*a/2.
var toneMinPower = math.Pow(dBm0Peak(toneMinPowerDBm0), 2) / 2

// goertzelCoef[k] is 2*cos(2*pi*f/SampleRate) for the 4 row and then the 4
// column frequencies.
var goertzelCoef = func() (c [8]float64) {
	for i, f := range dtmfRows {
		c[i] = 2 * math.Cos(2*math.Pi*f/SampleRate)
		c[i+4] = 2 * math.Cos(2*math.Pi*dtmfCols[i]/SampleRate)
	}
	return c
}()

// ToneDetector finds DTMF digits in audio: in-band DTMF from phones and
// trunks that do not send RFC 4733 events. Each press is reported once
// however long the key is held. One detector follows one stream; it is not
// safe for concurrent use.
type ToneDetector struct {
	buf  [toneBlock]int16
	n    int  // samples in buf
	cand rune // the digit of the last block, 0 for none
	run  int  // how many blocks in a row have had cand
	held rune // the digit last reported, while it lasts
	miss int  // blocks in a row without held
}

// NewToneDetector returns a detector with nothing heard yet.
func NewToneDetector() *ToneDetector {
	return &ToneDetector{}
}

// Feed takes the next samples of the stream (any number; usually one
// 160-sample frame) and returns the digits whose press was recognised in
// them, in order, or nil. Samples are kept across calls until a block is
// whole.
func (d *ToneDetector) Feed(pcm []int16) []rune {
	var out []rune
	for len(pcm) > 0 {
		c := copy(d.buf[d.n:], pcm)
		d.n += c
		pcm = pcm[c:]
		if d.n < toneBlock {
			break
		}
		d.n = 0
		if r, ok := d.step(d.blockDigit()); ok {
			out = append(out, r)
		}
	}
	return out
}

// step advances the press/release state by one block whose digit is r (0
// for none) and tells whether a new press is complete.
func (d *ToneDetector) step(r rune) (rune, bool) {
	if r == d.cand {
		d.run++
	} else {
		d.cand, d.run = r, 1
	}
	if d.held != 0 {
		if r == d.held {
			d.miss = 0
		} else if d.miss++; d.miss >= toneReleaseBlocks {
			d.held = 0
		}
	}
	if r != 0 && r != d.held && d.run >= toneMinBlocks {
		d.held, d.miss = r, 0
		return r, true
	}
	return 0, false
}

// blockDigit decides which digit, if any, the block in buf holds.
func (d *ToneDetector) blockDigit() rune {
	var energy float64
	for _, x := range d.buf {
		f := float64(x)
		energy += f * f
	}
	mean := energy / toneBlock
	if mean < toneMinPower {
		return 0
	}
	// Goertzel: s[n] = x[n] + coef*s[n-1] - s[n-2] per frequency; the
	// squared magnitude of the DFT at that frequency is then
	// s1^2 + s2^2 - coef*s1*s2. The eight filters run side by side in
	// locals so that the loop reads the block once.
	c := &goertzelCoef
	var a1, a2, b1, b2, c1, c2, d1, d2 float64 // rows
	var e1, e2, f1, f2, g1, g2, h1, h2 float64 // columns
	for _, x := range d.buf {
		v := float64(x)
		a1, a2 = v+c[0]*a1-a2, a1
		b1, b2 = v+c[1]*b1-b2, b1
		c1, c2 = v+c[2]*c1-c2, c1
		d1, d2 = v+c[3]*d1-d2, d1
		e1, e2 = v+c[4]*e1-e2, e1
		f1, f2 = v+c[5]*f1-f2, f1
		g1, g2 = v+c[6]*g1-g2, g1
		h1, h2 = v+c[7]*h1-h2, h1
	}
	// A sine of peak A gives a squared magnitude of about (A*N/2)^2; times
	// 2/N^2 that is A^2/2, its mean square, comparable with mean.
	const norm = 2.0 / (toneBlock * toneBlock)
	p := [8]float64{
		(a1*a1 + a2*a2 - c[0]*a1*a2) * norm,
		(b1*b1 + b2*b2 - c[1]*b1*b2) * norm,
		(c1*c1 + c2*c2 - c[2]*c1*c2) * norm,
		(d1*d1 + d2*d2 - c[3]*d1*d2) * norm,
		(e1*e1 + e2*e2 - c[4]*e1*e2) * norm,
		(f1*f1 + f2*f2 - c[5]*f1*f2) * norm,
		(g1*g1 + g2*g2 - c[6]*g1*g2) * norm,
		(h1*h1 + h2*h2 - c[7]*h1*h2) * norm,
	}
	row, ok := strongest(p[0:4])
	if !ok {
		return 0
	}
	col, ok := strongest(p[4:8])
	if !ok {
		return 0
	}
	pr, pc := p[row], p[4+col]
	if pr > pc*toneMaxColWeaker || pc > pr*toneMaxColStronger {
		return 0
	}
	if pr+pc < toneMinShare*mean {
		return 0
	}
	return dtmfKeys[row][col]
}

// strongest returns the index of the largest power of a group if it stands
// toneRelPeak above each of the others.
func strongest(p []float64) (int, bool) {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	for i := range p {
		if i != best && p[i]*toneRelPeak > p[best] {
			return 0, false
		}
	}
	return best, true
}

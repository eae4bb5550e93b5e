package media

import (
	"encoding/binary"
	"time"
)

// DTMFFunc is told each digit a side sends: from RFC 4733 telephone-events
// ("rfc4733") or from tones in its audio ("inband"). It is called from the
// relay and must not block.
type DTMFFunc func(from Side, digit rune, method string)

// sinkRef boxes an AudioSink for an atomic pointer.
type sinkRef struct{ s AudioSink }

// sendFormat is the codec a side accepted (from its SDP): its name for
// Stats, and the payload type and law the gateway's own audio toward the
// side is sent as.
type sendFormat struct {
	codec string // "" before the side's SDP
	pt    uint8
	kind  payloadKind
}

// taps is one side's state for recording and digit detection. Only the
// goroutine (or epoll worker) reading that side's RTP socket touches it.
type taps struct {
	events     EventTracker
	eventsSSRC uint32 // the sender whose events the tracker follows
	tones      *ToneDetector
	pcm        [readBufSize]int16
}

// dtmfToneLength is how long a digit received as a telephone-event plays as
// a tone toward a side that negotiated none; Q.24 wants at least 40 ms.
const dtmfToneLength = 100 * time.Millisecond

// SetSink makes s receive both sides' audio from now on (nil stops it).
func (b *Bridge) SetSink(s AudioSink) {
	if s == nil {
		b.sink.Store(nil)
		return
	}
	b.sink.Store(&sinkRef{s: s})
}

// OnDTMF makes f hear the digits both sides send from now on (nil stops
// it). In-band detection runs only while someone listens, and only on a
// side that negotiated no telephone-event.
func (b *Bridge) OnDTMF(f DTMFFunc) {
	if f == nil {
		b.onDTMF.Store(nil)
		return
	}
	b.onDTMF.Store(&f)
}

// SetRelay decides whether what side from sends reaches the other side.
// Every direction relays by default; the gateway turns a direction off
// while the call is not bridged yet (consent prompt, whisper, voicemail).
func (b *Bridge) SetRelay(from Side, on bool) {
	b.legs[from&1].relayOff.Store(!on)
}

// tap feeds a packet from in's side to the recording and the digit
// detectors; r is the side's route, which tells what payload type pt
// carries and what the other side negotiated.
func (b *Bridge) tap(in *leg, r *route, pt uint8, pkt, payload []byte) {
	k := r.kind[pt]
	if k == kindEvent {
		ev, err := ParseTelephoneEvent(payload)
		if err != nil {
			return
		}
		if ssrc := binary.BigEndian.Uint32(pkt[8:]); ssrc != in.taps.eventsSSRC {
			in.taps.events.Reset() // timestamps of another sender mean nothing here
			in.taps.eventsSSRC = ssrc
		}
		d, ok := in.taps.events.Observe(binary.BigEndian.Uint32(pkt[4:]), ev)
		if !ok {
			return
		}
		if f := b.onDTMF.Load(); f != nil {
			(*f)(in.side, d, "rfc4733")
		}
		// RFC 4733 events toward a side without telephone-event would be
		// lost (actNoTE): that side hears the digit as a tone instead.
		if r.act[pt] == actNoTE {
			b.toneTo(in.side.Other(), d)
		}
		return
	}
	sink := b.sink.Load()
	f := b.onDTMF.Load()
	if sink == nil && f == nil {
		return
	}
	pcm := in.taps.pcm[:len(payload)]
	table := &ulawToLinear
	if k == kindAlaw {
		table = &alawToLinear
	}
	for i, v := range payload {
		pcm[i] = table[v]
	}
	if sink != nil {
		sink.s.Audio(int(in.side), binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint32(pkt[4:]), pcm)
	}
	// A side that negotiated telephone-event sends its digits as events,
	// so its audio is not searched for tones.
	if f != nil && !r.events {
		if in.taps.tones == nil {
			in.taps.tones = NewToneDetector()
		}
		for _, d := range in.taps.tones.Feed(pcm) {
			(*f)(in.side, d, "inband")
		}
	}
}

// toneTo plays digit d as a tone toward side s, in the background.
func (b *Bridge) toneTo(s Side, d rune) {
	src, err := DTMFTone(d, dtmfToneLength)
	if err != nil {
		return
	}
	b.goPlay(s, src)
}

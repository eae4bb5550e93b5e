package media

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// digitLog collects what OnDTMF reports.
type digitLog struct {
	mu  sync.Mutex
	got []string // "A:5:rfc4733"
}

func (l *digitLog) add(s Side, d rune, how string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, s.String()+":"+string(d)+":"+how)
}

func (l *digitLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// sinkLog collects what a sink receives, by side.
type sinkLog struct {
	mu      sync.Mutex
	samples [2][]int16
}

func (s *sinkLog) Audio(side int, ssrc, ts uint32, pcm []int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples[side] = append(s.samples[side], pcm...)
}

func (s *sinkLog) count(side int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples[side])
}

func ulawTone(freq float64, n, offset int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = EncodeUlaw(int16(8000 * math.Sin(2*math.Pi*freq*float64(i+offset)/SampleRate)))
	}
	return b
}

// A digit sent as RFC 4733 events (start, updates, three end packets, all
// with the event's timestamp) is reported once, and relayed to a side that
// has telephone-event.
func TestDTMFFromTelephoneEvents(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, func(p *peer) Description { return p.sdp("0 96", "a=rtpmap:96 telephone-event/8000") }, pcmu)
	var log digitLog
	br.OnDTMF(log.add)
	for _, ev := range [][]byte{{1, 10, 0, 160}, {1, 10, 1, 64}, {1, 0x80 | 10, 1, 224}, {1, 0x80 | 10, 1, 224}, {1, 0x80 | 10, 1, 224}} {
		a.ts -= 4 // keep the event's timestamp: send() advances it by the payload length
		a.send(br.Local(SideA), 96, ev)
		if got, _ := b.recv(); got.PayloadType != 101 || got.Payload[0] != 1 {
			t.Fatalf("B got PT %d payload %x", got.PayloadType, got.Payload)
		}
	}
	waitFor(t, func() bool { return len(log.list()) == 1 })
	if got := log.list(); got[0] != "A:1:rfc4733" {
		t.Errorf("digits = %v", got)
	}
	// The same digit again is a new event with a new timestamp.
	a.ts += 800
	a.send(br.Local(SideA), 96, []byte{1, 10, 0, 160})
	waitFor(t, func() bool { return len(log.list()) == 2 })
}

// A side without telephone-event hears a digit the other side sent as
// events as a DTMF tone in its audio, which a tone detector recognises.
func TestDTMFEventBecomesTone(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, func(p *peer) Description { return p.sdp("0 96", "a=rtpmap:96 telephone-event/8000") },
		func(p *peer) Description { return p.sdp("0") })
	a.send(br.Local(SideA), 96, []byte{7, 10, 0, 160})
	det := NewToneDetector()
	var digits []rune
	for range int(dtmfToneLength / framePeriod) {
		pkt, _ := b.recv()
		if pkt.PayloadType != 0 {
			t.Fatalf("B got PT %d, wants only PCMU", pkt.PayloadType)
		}
		pcm := make([]int16, len(pkt.Payload))
		for i, v := range pkt.Payload {
			pcm[i] = DecodeUlaw(v)
		}
		digits = append(digits, det.Feed(pcm)...)
	}
	if string(digits) != "7" {
		t.Errorf("B heard digits %q, want 7", string(digits))
	}
}

// Tones in the audio of a side without telephone-event are detected while
// someone listens, and not otherwise; the audio of a side that negotiated
// telephone-event is not searched (its digits come as events).
func TestDTMFInBand(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, func(p *peer) Description { return p.sdp("0") }, pcmu)
	var log digitLog
	// sendDigit sends d as a tone in from's audio, and the gap after it;
	// when it returns the taps have seen every packet (to received each).
	sendDigit := func(br *Bridge, from, to *peer, d rune) {
		src, err := DTMFTone(d, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]int16, FrameSamples)
		for src.Read(frame) {
			p := make([]byte, len(frame))
			for i, v := range frame {
				p[i] = EncodeUlaw(v)
			}
			from.send(br.Local(SideA), 0, p)
			to.recv()
		}
		for range 5 { // the gap after the digit
			from.send(br.Local(SideA), 0, make([]byte, FrameSamples))
			to.recv()
		}
	}
	sendDigit(br, a, b, '3')
	br.OnDTMF(log.add)
	sendDigit(br, a, b, '9')
	sendDigit(br, a, b, '#')
	waitFor(t, func() bool { return len(log.list()) == 2 })
	if got := log.list(); got[0] != "A:9:inband" || got[1] != "A:#:inband" {
		t.Errorf("digits = %v", got)
	}

	a2, b2 := newPeer(t), newPeer(t)
	br2 := call(t, e, a2, b2, pcmu, pcmu)
	var log2 digitLog
	br2.OnDTMF(log2.add)
	sendDigit(br2, a2, b2, '5')
	if got := log2.list(); len(got) != 0 {
		t.Errorf("digits from a side with telephone-event's audio: %v", got)
	}
}

// The sink gets both sides' audio decoded, also while the relay between
// them is off (consent, voicemail).
func TestSinkAndRelayOff(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcma)
	var sink sinkLog
	br.SetSink(&sink)
	br.SetRelay(SideA, false)
	tone := ulawTone(1000, FrameSamples, 0)
	a.send(br.Local(SideA), 0, tone)
	b.expectNothing()
	waitFor(t, func() bool { return sink.count(0) == FrameSamples })
	for i, v := range sink.samples[0] {
		if v != DecodeUlaw(tone[i]) {
			t.Fatalf("sample %d: sink got %d, sent %d", i, v, DecodeUlaw(tone[i]))
		}
	}
	// B speaks A-law: decoded with its own law.
	b.send(br.Local(SideB), 8, []byte{0xd5, 0xd5})
	a.recv()
	waitFor(t, func() bool { return sink.count(1) == 2 })
	if sink.samples[1][0] != DecodeAlaw(0xd5) {
		t.Errorf("B's sample %d, want %d", sink.samples[1][0], DecodeAlaw(0xd5))
	}
	br.SetRelay(SideA, true)
	a.send(br.Local(SideA), 0, tone)
	b.recv()
}

// Play sends a prompt in the side's codec at 20 ms per packet, with the
// marker on the first packet and on the switch back to relayed audio, and
// keeps the other side's audio away while it plays.
func TestPlay(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcma)
	pcm := make([]int16, 5*FrameSamples)
	for i := range pcm {
		pcm[i] = int16(4000 * math.Sin(2*math.Pi*440*float64(i)/SampleRate))
	}
	done := make(chan error, 1)
	go func() { done <- br.Play(context.Background(), SideB, NewPCMSource(pcm)) }()
	var got []byte
	var seqs []uint16
	var tss []uint32
	for range 5 {
		pkt, _ := b.recv()
		if pkt.PayloadType != 8 {
			t.Fatalf("prompt PT %d, want 8 (B's PCMA)", pkt.PayloadType)
		}
		if len(seqs) == 0 && !pkt.Marker {
			t.Error("first prompt packet without marker")
		}
		got = append(got, pkt.Payload...)
		seqs = append(seqs, pkt.SequenceNumber)
		tss = append(tss, pkt.Timestamp)
		// A speaks meanwhile: B must not hear it over the prompt.
		a.send(br.Local(SideA), 0, ulawTone(1000, FrameSamples, 0))
	}
	if err := <-done; err != nil {
		t.Fatalf("Play: %v", err)
	}
	if st := br.Stats(SideB); st.Played != 5 || st.PacketsOut != 0 {
		t.Errorf("B's stats: played %d, relayed %d; want 5 played and nothing of A's", st.Played, st.PacketsOut)
	}
	for i := 1; i < 5; i++ {
		if seqs[i] != seqs[i-1]+1 || tss[i] != tss[i-1]+FrameSamples {
			t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d", i, seqs[i], tss[i], seqs[i-1], tss[i-1])
		}
	}
	for i, v := range got {
		if v != EncodeAlaw(pcm[i]) {
			t.Fatalf("sample %d: got %#x, want %#x", i, v, EncodeAlaw(pcm[i]))
		}
	}
	// Relayed audio resumes with a marker and continuous sequence.
	a.send(br.Local(SideA), 0, ulawTone(1000, FrameSamples, 0))
	pkt, _ := b.recv()
	if !pkt.Marker || pkt.SequenceNumber != seqs[4]+1 {
		t.Errorf("after the prompt: marker %v seq %d, want marker and %d", pkt.Marker, pkt.SequenceNumber, seqs[4]+1)
	}
}

// A second Play toward a side replaces the first; closing the bridge ends
// a Play.
func TestPlayReplacedAndClosed(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu)
	first := make(chan error, 1)
	go func() { first <- br.Play(context.Background(), SideA, Ringback()) }()
	a.recv()
	second := make(chan error, 1)
	go func() { second <- br.Play(context.Background(), SideA, Ringback()) }()
	if err := <-first; !errors.Is(err, ErrPlaybackReplaced) {
		t.Errorf("first Play = %v, want ErrPlaybackReplaced", err)
	}
	a.recv()
	br.Close()
	if err := <-second; !errors.Is(err, ErrBridgeClosed) {
		t.Errorf("Play at close = %v, want ErrBridgeClosed", err)
	}
	if err := br.Play(context.Background(), SideA, Ringback()); !errors.Is(err, ErrBridgeClosed) {
		t.Errorf("Play after close = %v", err)
	}
}

package recording_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/teamline/teamline/recording"
)

const packet = 160 // samples in 20 ms

// TestStereoTones records a call in which the caller sends a 1 kHz tone
// for 3 s and the agent a 300 Hz tone from 1 s to 2 s, and reads the file
// back as a player would.
func TestStereoTones(t *testing.T) {
	e := newEnv(t, on)
	sess := e.start(t, recording.Recording{CallID: "a84b4c76e66710@pc33.example.com", Username: "ann", From: "+15551230001", To: "+15559870002"}, 2)

	const n = 150 // 3 s of packets
	for k := range n {
		sess.Audio(0, 0x1111, 5000+uint32(k*packet), sine(1000, k*packet, packet))
		if k >= 50 && k < 100 {
			// The agent's packets have their own SSRC and timestamps.
			sess.Audio(1, 0x2222, 0xFFFFFF00+uint32((k-50)*packet), sine(300, (k-50)*packet, packet))
		}
		e.clock.Advance(20 * time.Millisecond)
		if k%10 == 9 {
			if err := sess.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := e.readWAV(t, rec)
	if w.channels != 2 || w.rate != 8000 {
		t.Fatalf("%d channels at %d Hz, want 2 at 8000", w.channels, w.rate)
	}
	if d := time.Duration(w.frames()) * time.Second / 8000; d < 2900*time.Millisecond || d > 3100*time.Millisecond {
		t.Errorf("file lasts %v, want 3 s", d)
	}
	if rec.DurationMS < 2900 || rec.DurationMS > 3100 || !rec.Complete {
		t.Errorf("recording: %d ms, complete %v; want 3000 ms, complete", rec.DurationMS, rec.Complete)
	}

	left, right := w.samples[0], w.samples[1]
	if c := bestCorrelation(left, sine(1000, 0, n*packet), packet); c < 0.99 {
		t.Errorf("left channel correlates %.3f with the caller's 1 kHz tone", c)
	}
	// Right: silence, the tone from 1 s to 2 s, silence (a packet of
	// margin at the edges).
	if !silent(right[:8000-packet]) {
		t.Error("right channel is not silent before 1 s")
	}
	if p := tonePower(right[8000+packet:16000-packet], 300); p < 0.95 {
		t.Errorf("right channel between 1 s and 2 s has %.2f of its energy at 300 Hz", p)
	}
	if p := tonePower(right[8000+packet:16000-packet], 1000); p > 0.01 {
		t.Errorf("the caller's tone leaks into the right channel (%.2f)", p)
	}
	if !silent(right[16000+packet:]) {
		t.Error("right channel is not silent after 2 s")
	}
}

// bestCorrelation is the highest normalised correlation of x with ref
// shifted by up to maxLag samples either way.
func bestCorrelation(x, ref []int16, maxLag int) float64 {
	best := -1.0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var xy, xx, yy float64
		for i := range x {
			j := i + lag
			if j < 0 || j >= len(ref) {
				continue
			}
			a, b := float64(x[i]), float64(ref[j])
			xy, xx, yy = xy+a*b, xx+a*a, yy+b*b
		}
		if xx > 0 && yy > 0 {
			best = max(best, xy/math.Sqrt(xx*yy))
		}
	}
	return best
}

// pkt is one packet in a timeline test: it arrives at ms after the
// session's start and holds 160 samples of the value v.
type pkt struct {
	ms   int
	side int
	ssrc uint32
	ts   uint32
	v    int16
}

// stream is n packets of one side, one every 20 ms from ms, with
// timestamps from ts and values from v on.
func stream(side int, ssrc uint32, ms int, ts uint32, v int16, n int) []pkt {
	out := make([]pkt, n)
	for i := range out {
		out[i] = pkt{ms: ms + 20*i, side: side, ssrc: ssrc, ts: ts + uint32(i*packet), v: v + int16(i)}
	}
	return out
}

// blocks describes a channel by 20 ms block: the value of a block whose
// samples are all the same, -1 for a block that is not uniform.
func blocks(x []int16) []int {
	var out []int
	for b := 0; b < len(x); b += packet {
		blk := x[b:min(b+packet, len(x))]
		v := int(blk[0])
		for _, s := range blk {
			if int(s) != v {
				v = -1
				break
			}
		}
		out = append(out, v)
	}
	return out
}

// seq is the values from..to-1; join concatenates block lists.
func seq(from, to int) []int {
	var out []int
	for v := from; v < to; v++ {
		out = append(out, v)
	}
	return out
}

// sameAudio tells whether a channel's blocks are want followed by nothing
// but silence: the file goes on up to the last flush, silent after the
// last packet.
func sameAudio(got, want []int) bool {
	return len(got) >= len(want) && slices.Equal(got[:len(want)], want) && !slices.ContainsFunc(got[len(want):], func(v int) bool { return v != 0 })
}

func zeros(n int) []int { return make([]int, n) }

func join(parts ...[]int) []int { return slices.Concat(parts...) }

// TestTimeline feeds packets at given arrival times, with the flusher's
// 200 ms rhythm, and checks where their audio lands in the file.
func TestTimeline(t *testing.T) {
	steady := stream(1, 0xB, 0, 90000, 100, 20) // the other side, untouched by what side 0 does
	tests := []struct {
		name        string
		channels    int
		pkts        []pkt
		left, right []int
		late        float64 // teamline_recording_late_samples_total
	}{{
		name:     "in order",
		channels: 2,
		pkts:     append(stream(0, 0xA, 0, 1000, 1, 20), steady...),
		left:     seq(1, 21),
		right:    seq(100, 120),
	}, {
		name:     "lost packets are silence of their length",
		channels: 2,
		pkts:     append(slices.Concat(stream(0, 0xA, 0, 1000, 1, 5), stream(0, 0xA, 160, 1000+8*packet, 9, 12)), steady...),
		left:     join(seq(1, 6), zeros(3), seq(9, 21)),
		right:    seq(100, 120),
	}, {
		name:     "jitter does not move audio",
		channels: 1,
		pkts: []pkt{
			{ms: 0, ts: 7, v: 1}, {ms: 35, ts: 7 + packet, v: 2}, {ms: 41, ts: 7 + 2*packet, v: 3},
			{ms: 60, ts: 7 + 3*packet, v: 4}, {ms: 95, ts: 7 + 4*packet, v: 5}, {ms: 99, ts: 7 + 5*packet, v: 6},
		},
		left: seq(1, 7),
	}, {
		name:     "reordered packets land in order",
		channels: 1,
		pkts: []pkt{
			{ms: 0, ts: 0, v: 1}, {ms: 20, ts: 2 * packet, v: 3}, {ms: 30, ts: packet, v: 2},
			{ms: 60, ts: 4 * packet, v: 5}, {ms: 80, ts: 5 * packet, v: 6}, {ms: 90, ts: 3 * packet, v: 4},
			{ms: 300, ts: 6 * packet, v: 7}, // 180 ms late: still in time
		},
		left: seq(1, 8),
	}, {
		name:     "a packet later than the flush is dropped and counted",
		channels: 1,
		pkts: slices.Concat(stream(0, 0xA, 0, 0, 1, 2), stream(0, 0xA, 60, 3*packet, 4, 7),
			[]pkt{{ms: 410, ssrc: 0xA, ts: 2 * packet, v: 3}}), // written at 400 ms
		left: join(seq(1, 3), zeros(1), seq(4, 11)),
		late: packet,
	}, {
		name:     "a new SSRC re-anchors at its arrival without moving the other side",
		channels: 2,
		// Side 0 restarts at 200 ms with a new SSRC whose timestamps
		// would put it 100 ms earlier.
		pkts:  slices.Concat(stream(0, 0xA, 0, 1000, 1, 8), stream(0, 0xC, 200, 1000+5*packet, 11, 10), steady),
		left:  join(seq(1, 9), zeros(2), seq(11, 21)),
		right: seq(100, 120),
	}, {
		name:     "a timestamp jump of 10 s re-anchors",
		channels: 2,
		pkts:     slices.Concat(stream(0, 0xA, 0, 1000, 1, 10), stream(0, 0xA, 200, 1000+10*packet+80000, 11, 10), steady),
		left:     seq(1, 21),
		right:    seq(100, 120),
	}, {
		name:     "a timestamp jump back re-anchors",
		channels: 2,
		pkts:     slices.Concat(stream(0, 0xA, 0, 200000, 1, 10), stream(0, 0xA, 200, 200000-80000, 11, 10), steady),
		left:     seq(1, 21),
		right:    seq(100, 120),
	}, {
		name:     "timestamps wrap around",
		channels: 1,
		pkts:     stream(0, 0xA, 0, math.MaxUint32-3*packet+1, 1, 10),
		left:     seq(1, 11),
	}, {
		name:     "a pause the timestamps do not count re-anchors rather than drop the audio",
		channels: 1,
		pkts:     append(stream(0, 0xA, 0, 0, 1, 5), stream(0, 0xA, 600, 5*packet, 6, 5)...),
		left:     join(seq(1, 6), zeros(25), seq(6, 11)),
	}, {
		name:     "a voicemail records the caller only",
		channels: 1,
		pkts:     append(stream(0, 0xA, 0, 1000, 1, 20), steady...),
		left:     seq(1, 21),
	}, {
		name:     "nonsense sides are ignored",
		channels: 2,
		pkts: append(stream(0, 0xA, 0, 1000, 1, 3),
			pkt{ms: 20, side: 2, v: 50}, pkt{ms: 20, side: -1, v: 50}),
		left:  seq(1, 4),
		right: zeros(3),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, on)
			kind := recording.KindCall
			if tt.channels == 1 {
				kind = recording.KindVoicemail
			}
			sess := e.start(t, recording.Recording{Kind: kind, CallID: "c1"}, tt.channels)
			pkts := slices.Clone(tt.pkts)
			slices.SortStableFunc(pkts, func(a, b pkt) int { return a.ms - b.ms })
			at := func(ms int) { e.clock.Set(t0.Add(time.Duration(ms) * time.Millisecond)) }
			// Packets arrive at their time; the flusher runs every
			// 200 ms, after the packets of the same instant.
			for ms, i := 0, 0; i < len(pkts); ms += 200 {
				for ; i < len(pkts) && pkts[i].ms <= ms; i++ {
					p := pkts[i]
					at(p.ms)
					samples := make([]int16, packet)
					for j := range samples {
						samples[j] = p.v
					}
					sess.Audio(p.side, p.ssrc, p.ts, samples)
				}
				at(ms)
				if err := sess.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := sess.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			w := e.readWAV(t, rec)
			if w.channels != tt.channels {
				t.Fatalf("%d channels, want %d", w.channels, tt.channels)
			}
			if got := blocks(w.samples[0]); !sameAudio(got, tt.left) {
				t.Errorf("left:\n got %v\nwant %v", got, tt.left)
			}
			if tt.channels == 2 {
				if got := blocks(w.samples[1]); !sameAudio(got, tt.right) {
					t.Errorf("right:\n got %v\nwant %v", got, tt.right)
				}
			}
			if got := e.metric(t, "teamline_recording_late_samples_total"); got != tt.late {
				t.Errorf("late samples %v, want %v", got, tt.late)
			}
			if want := int64(w.frames()) * 1000 / 8000; rec.DurationMS != want {
				t.Errorf("DurationMS %d, file has %d ms", rec.DurationMS, want)
			}
		})
	}
}

// TestCrashLeavesReadableFile copies the file of a session that was
// flushed but never closed, as a gateway crash would leave it.
func TestCrashLeavesReadableFile(t *testing.T) {
	e := newEnv(t, on)
	sess := e.start(t, recording.Recording{CallID: "crash"}, 2)
	for k := range 50 { // 1 s
		sess.Audio(0, 1, uint32(k*packet), sine(1000, k*packet, packet))
		sess.Audio(1, 2, uint32(k*packet), sine(300, k*packet, packet))
		e.clock.Advance(20 * time.Millisecond)
	}
	if err := sess.Flush(); err != nil {
		t.Fatal(err)
	}
	// More audio after the flush: not in the file yet.
	sess.Audio(0, 1, 50*packet, sine(1000, 50*packet, packet))

	path := filepath.Join(e.dir, filepath.FromSlash(sess.Recording().Path))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := parseWAV(b)
	if err != nil {
		t.Fatalf("the file of a crashed gateway does not parse: %v", err)
	}
	// Flushed at 1 s, less the 250 ms the flusher leaves for late packets.
	if w.channels != 2 || w.frames() != 6000 {
		t.Errorf("%d channels, %d frames; want 2 channels, 6000 frames (750 ms)", w.channels, w.frames())
	}
	if c := bestCorrelation(w.samples[0], sine(1000, 0, 6000), 0); c < 0.99 {
		t.Errorf("left channel correlates %.3f with the tone", c)
	}

	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w := e.readWAV(t, rec); w.frames() != 51*packet {
		t.Errorf("closed file has %d frames, want %d", w.frames(), 51*packet)
	}
}

// TestSessionClose checks what Close records and that it is idempotent.
func TestSessionClose(t *testing.T) {
	e := newEnv(t, on)
	sess := e.start(t, recording.Recording{CallID: "close", Username: "ann"}, 2)
	for k := range 25 {
		sess.Audio(0, 1, uint32(k*packet), sine(440, k*packet, packet))
		e.clock.Advance(20 * time.Millisecond)
	}
	if got := e.metric(t, "teamline_recordings_active"); got != 1 {
		t.Errorf("active %v during the call, want 1", got)
	}
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, err := sess.Close(context.Background())
	if err != nil || again != rec {
		t.Errorf("second Close: %+v, %v; want %+v, nil", again, err, rec)
	}
	stored, err := e.st.GetRecording(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(rec.Path)))
	if err != nil {
		t.Fatal(err)
	}
	want := recording.Recording{
		ID: rec.ID, CallID: "close", Kind: recording.KindCall, Username: "ann", Path: rec.Path,
		Start: t0, DurationMS: 500, SizeBytes: int64(len(b)), SHA256: sha256hex(b), Complete: true, Saved: true,
	}
	if stored != want || rec != want {
		t.Errorf("stored %+v\nreturned %+v\nwant %+v", stored, rec, want)
	}
	if got := e.metric(t, "teamline_recordings_active"); got != 0 {
		t.Errorf("active %v after Close, want 0", got)
	}
	// Audio after Close is ignored and Flush does nothing.
	sess.Audio(0, 1, 25*packet, sine(440, 0, packet))
	if err := sess.Flush(); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
	if b2, _ := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(rec.Path))); len(b2) != len(b) {
		t.Error("the file changed after Close")
	}
}

// TestFarAheadIsBounded sends one packet far longer than any RTP packet:
// the session keeps at most 2 s ahead of now.
func TestFarAheadIsBounded(t *testing.T) {
	e := newEnv(t, on)
	sess := e.start(t, recording.Recording{CallID: "long"}, 1)
	huge := make([]int16, 10*8000)
	for i := range huge {
		huge[i] = 7
	}
	sess.Audio(0, 1, 0, huge)
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w := e.readWAV(t, rec); w.frames() != 2*8000 {
		t.Errorf("%d frames kept, want 16000 (2 s)", w.frames())
	}
}

// TestRingWrap records 4 s, longer than the session's 3 s ring, with
// packets that do not line up with its end, so that some straddle it: every
// sample lands in its place on its own channel.
func TestRingWrap(t *testing.T) {
	e := newEnv(t, on)
	sess := e.start(t, recording.Recording{CallID: "wrap"}, 2)
	// Side 0 starts 10 ms in, side 1 30 ms in; each sends a ramp of its
	// own, sample i of the side being ramp(side, i).
	ramp := func(side, i int) int16 { return int16(1 + i%10000 - side*20000) }
	offset := [2]int{80, 240} // frames
	const n = 200             // packets of each side: 4 s
	for ms := 0; ms <= 4100; ms += 10 {
		e.clock.Set(t0.Add(time.Duration(ms) * time.Millisecond))
		for side := range 2 {
			if k := (ms - offset[side]/8) / 20; (ms-offset[side]/8)%20 == 0 && k >= 0 && k < n {
				pcm := make([]int16, packet)
				for j := range pcm {
					pcm[j] = ramp(side, k*packet+j)
				}
				sess.Audio(side, uint32(side+1), uint32(k*packet), pcm)
			}
		}
		if ms%200 == 0 {
			if err := sess.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := e.readWAV(t, rec)
	for side := range 2 {
		ch := w.samples[side]
		if len(ch) < offset[side]+n*packet {
			t.Fatalf("%d frames, want at least %d", len(ch), offset[side]+n*packet)
		}
		if !silent(ch[:offset[side]]) {
			t.Errorf("channel %d is not silent before its first packet", side)
		}
		for i := range n * packet {
			if got, want := ch[offset[side]+i], ramp(side, i); got != want {
				t.Fatalf("channel %d, sample %d of the side (frame %d): %d, want %d", side, i, offset[side]+i, got, want)
			}
		}
	}
}

// TestCloseLastsUntilHangUp: a call whose sides fell silent before the
// hang-up lasts until Close, silence at the end; but a clock that jumped
// (or a flusher that stalled) since the last flush adds at most a second.
func TestCloseLastsUntilHangUp(t *testing.T) {
	for _, tt := range []struct {
		name    string
		flush   bool          // flush once the sides fall silent
		silence time.Duration // from the last packet to Close
		wantMS  int64
	}{
		{"silence before the hang-up", false, 300 * time.Millisecond, 800},
		{"clock jump after the last flush", true, time.Minute, 250 + 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, on)
			sess := e.start(t, recording.Recording{CallID: "tail"}, 2)
			e.talk(sess, 500*time.Millisecond)
			if tt.flush {
				if err := sess.Flush(); err != nil { // writes up to 250 ms
					t.Fatal(err)
				}
			}
			e.clock.Advance(tt.silence)
			rec, err := sess.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			w := e.readWAV(t, rec)
			if rec.DurationMS != tt.wantMS || int64(w.frames()) != tt.wantMS*8 {
				t.Fatalf("recording of %d ms, %d frames; want %d ms", rec.DurationMS, w.frames(), tt.wantMS)
			}
			for side := range 2 {
				if tail := w.samples[side][4000:]; !silent(tail) {
					t.Errorf("channel %d is not silent after the last packet", side)
				}
				if silent(w.samples[side][:4000]) {
					t.Errorf("channel %d lost the call's audio", side)
				}
			}
		})
	}
}

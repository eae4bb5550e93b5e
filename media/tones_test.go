package media

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// readAll reads src in frames of size samples until it ends or limit
// samples have been read, and returns everything it produced and the number
// of frames.
func readAll(src Source, size, limit int) (pcm []int16, frames int) {
	frame := make([]int16, size)
	for len(pcm) < limit && src.Read(frame) {
		pcm = append(pcm, frame...)
		frames++
	}
	return pcm, frames
}

// levelAt measures the level of the component of x at freq Hz, in dBm0,
// with a Hann-windowed DFT at that one frequency (the window keeps tones a
// few tens of Hz away from leaking into the measurement).
func levelAt(x []int16, freq float64) float64 {
	var re, im float64
	w := 2 * math.Pi * freq / SampleRate
	n := float64(len(x))
	for i, v := range x {
		h := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
		re += h * float64(v) * math.Cos(w*float64(i))
		im -= h * float64(v) * math.Sin(w*float64(i))
	}
	// |X| = A*N/4 for a sine of peak A under a Hann window; its mean
	// square is A^2/2.
	a := 4 * math.Hypot(re, im) / n
	return powerDBm0(a * a / 2)
}

// powerDBm0 converts a mean square of 16-bit samples to dBm0.
func powerDBm0(ms float64) float64 {
	p0 := math.Pow(32767*math.Pow(10, -3.17/20), 2) / 2 // 0 dBm0 sine
	return 10 * math.Log10(ms/p0)
}

func meanSquare(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e / float64(len(x))
}

func mustDTMF(t testing.TB, digit rune, d time.Duration) Source {
	t.Helper()
	s, err := DTMFTone(digit, d)
	if err != nil {
		t.Fatalf("DTMFTone(%q): %v", digit, err)
	}
	return s
}

func TestToneLengths(t *testing.T) {
	tests := []struct {
		name    string
		src     func() Source
		samples int // what the source is long
		frames  int // 160-sample frames it takes, the last padded
	}{
		{"beep 250 ms", func() Source { return Beep(1000, 250*time.Millisecond) }, 2000, 13},
		{"beep 0", func() Source { return Beep(1000, 0) }, 0, 0},
		{"beep negative", func() Source { return Beep(1000, -time.Second) }, 0, 0},
		{"beep 1 ms", func() Source { return Beep(1000, time.Millisecond) }, 8, 1},
		{"beep above Nyquist", func() Source { return Beep(5000, 100*time.Millisecond) }, 800, 5},
		{"dtmf 50 ms", func() Source { return mustDTMF(t, '5', 50*time.Millisecond) }, 400, 3},
		{"dtmf 100 ms", func() Source { return mustDTMF(t, '#', 100*time.Millisecond) }, 800, 5},
		{"silence 1 s", func() Source { return Silence(time.Second) }, 8000, 50},
		{"silence 0.1 ms rounds to 1", func() Source { return Silence(100 * time.Microsecond) }, 1, 1},
		{"concat", func() Source {
			return Concat(Silence(100*time.Millisecond), Beep(1000, 250*time.Millisecond), nil, Silence(40*time.Millisecond))
		}, 800 + 2000 + 320, 5 + 13 + 2},
		{"concat of nothing", func() Source { return Concat() }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One sample at a time: the exact length.
			one, _ := readAll(tt.src(), 1, 1e6)
			if len(one) != tt.samples {
				t.Errorf("read one sample at a time: %d samples, want %d", len(one), tt.samples)
			}
			pcm, frames := readAll(tt.src(), FrameSamples, 1e6)
			if frames != tt.frames {
				t.Fatalf("%d frames of %d, want %d", frames, FrameSamples, tt.frames)
			}
			// Past the end of the audio the last frame is zeros (the
			// concat case is checked sample for sample below).
			if tt.name != "concat" {
				if i := slices.IndexFunc(pcm[min(tt.samples, len(pcm)):], func(v int16) bool { return v != 0 }); i >= 0 {
					t.Errorf("sample %d after the end is %d, want 0", tt.samples+i, pcm[tt.samples+i])
				}
			}
		})
	}
}

// TestConcatFrames: each part of a Concat starts on a frame boundary, where
// it would when played alone.
func TestConcatFrames(t *testing.T) {
	src := Concat(Silence(100*time.Millisecond), Beep(1000, 250*time.Millisecond), Silence(40*time.Millisecond))
	pcm, _ := readAll(src, FrameSamples, 1e6)
	beep, _ := readAll(Beep(1000, 250*time.Millisecond), FrameSamples, 1e6)
	if len(pcm) != 800+len(beep)+320 {
		t.Fatalf("%d samples, want %d", len(pcm), 800+len(beep)+320)
	}
	if !slices.Equal(pcm[800:800+len(beep)], beep) {
		t.Error("the beep inside the concat differs from the beep alone")
	}
	for _, part := range [][]int16{pcm[:800], pcm[800+len(beep):]} {
		if meanSquare(part) != 0 {
			t.Error("silence around the beep is not silent")
		}
	}
}

func TestRingbackCadence(t *testing.T) {
	pcm, _ := readAll(Ringback(), FrameSamples, 13*SampleRate)
	if len(pcm) != 13*SampleRate {
		t.Fatalf("ringback ended after %d samples", len(pcm))
	}
	// In windows of 25 ms: 11 periods of 440 Hz and 12 of 480 Hz, one
	// period of their 40 Hz beat, so every full window has the same power.
	const win = SampleRate / 40
	onLevel := powerDBm0(meanSquare(pcm[SampleRate/2 : SampleRate]))
	for i := 0; i < len(pcm); i += win {
		ms := (i * 1000) / SampleRate
		inCycle := ms % 6000
		switch {
		case inCycle < 25 || (inCycle >= 1975 && inCycle < 2000):
			// fades
		case inCycle < 2000:
			if l := powerDBm0(meanSquare(pcm[i : i+win])); math.Abs(l-onLevel) > 0.1 {
				t.Fatalf("at %d ms: %.1f dBm0, want the tone at %.1f dBm0", ms, l, onLevel)
			}
		default:
			if e := meanSquare(pcm[i : i+win]); e != 0 {
				t.Fatalf("at %d ms: not silent (mean square %.0f)", ms, e)
			}
		}
	}
	if math.Abs(onLevel-(-16)) > 0.5 { // -19 dBm0 twice
		t.Errorf("ringback at %.1f dBm0, want two tones of -19 dBm0 (-16 dBm0 together)", onLevel)
	}
}

// TestToneFrequencies measures each tone at its own frequencies and at the
// others near them.
func TestToneFrequencies(t *testing.T) {
	type want struct {
		freq  float64
		level float64 // dBm0
	}
	tests := []struct {
		name   string
		src    Source
		tones  []want
		absent []float64
	}{
		{"ringback", Ringback(), []want{{440, -19}, {480, -19}}, []float64{350, 400, 520, 620, 880, 960, 1000}},
		{"beep 1000", Beep(1000, 250*time.Millisecond), []want{{1000, -10}}, []float64{500, 900, 1100, 2000, 3000}},
		{"beep 425", Beep(425, 250*time.Millisecond), []want{{425, -10}}, []float64{350, 500, 850}},
	}
	for _, d := range "123A456B789C*0#D" {
		row, col, _ := dtmfPosition(d)
		var absent []float64
		for i := range 4 {
			if i != row {
				absent = append(absent, dtmfRows[i])
			}
			if i != col {
				absent = append(absent, dtmfCols[i])
			}
		}
		tests = append(tests, struct {
			name   string
			src    Source
			tones  []want
			absent []float64
		}{"dtmf " + string(d), mustDTMF(t, d, 250*time.Millisecond), []want{{dtmfRows[row], -8}, {dtmfCols[col], -6}}, absent})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm, _ := readAll(tt.src, FrameSamples, SampleRate/4)
			// 200 ms away from the fades.
			mid := pcm[200 : 200+1600]
			for _, w := range tt.tones {
				if l := levelAt(mid, w.freq); math.Abs(l-w.level) > 0.3 {
					t.Errorf("%.0f Hz at %.2f dBm0, want %.0f", w.freq, l, w.level)
				}
			}
			for _, f := range tt.absent {
				if l := levelAt(mid, f); l > tt.tones[0].level-40 {
					t.Errorf("%.0f Hz at %.1f dBm0, want 40 dB below the tone", f, l)
				}
			}
		})
	}
}

// TestToneNoClicks: from one sample to the next a tone changes no more than
// its sines can (a jump is a click), also across frame boundaries; it starts
// and ends near zero; and the samples do not depend on the frame size the
// caller reads with (the phase carries over between reads).
func TestToneNoClicks(t *testing.T) {
	tests := []struct {
		name  string
		src   func() Source
		tones []float64 // frequencies
		amp   float64   // peak of each tone
		fade  int
		limit int
	}{
		{"beep", func() Source { return Beep(1000, 250*time.Millisecond) }, []float64{1000}, dBm0Peak(-10), 40, 1e6},
		{"dtmf", func() Source { return mustDTMF(t, 'D', 300*time.Millisecond) }, []float64{941, 1633}, dBm0Peak(-6), 16, 1e6},
		{"ringback", Ringback, []float64{440, 480}, dBm0Peak(-19), 40, 11 * SampleRate}, // ends in a pause
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A sine of peak A moves at most A*2*pi*f/8000 per sample; the
			// fade adds at most A/fade.
			var bound float64
			for _, f := range tt.tones {
				bound += tt.amp * (2*math.Pi*f/SampleRate + 1/float64(tt.fade))
			}
			bound += 2 // rounding
			ref, _ := readAll(tt.src(), FrameSamples, tt.limit)
			for i := 1; i < len(ref); i++ {
				if d := math.Abs(float64(ref[i]) - float64(ref[i-1])); d > bound {
					t.Fatalf("sample %d jumps by %.0f from %d, more than %.0f", i, d, ref[i-1], bound)
				}
			}
			// The edges of each burst, where 16 zeros (no tone passes
			// zero that slowly) end or begin: the gain of the fade is
			// at most 2/fade there.
			edge := tt.amp * float64(len(tt.tones)) * 2 / float64(tt.fade)
			quiet := func(from, to int) bool {
				for j := max(from, 0); j < min(to, len(ref)); j++ {
					if ref[j] != 0 {
						return false
					}
				}
				return true
			}
			bursts := 0
			for i := range ref {
				start := ref[i] != 0 && quiet(i-16, i)
				end := ref[i] != 0 && quiet(i+1, i+17)
				if start {
					bursts++
				}
				if (start || end) && math.Abs(float64(ref[i])) > edge {
					t.Fatalf("sound starts or ends at sample %d with %d, want at most %.0f", i, ref[i], edge)
				}
			}
			if bursts == 0 {
				t.Fatal("no sound")
			}
			for _, size := range []int{1, 37, 441} {
				got, _ := readAll(tt.src(), size, tt.limit)
				n := min(len(got), len(ref))
				for i := range n {
					if d := int(got[i]) - int(ref[i]); d < -1 || d > 1 {
						t.Fatalf("read %d samples at a time, sample %d is %d; %d in frames of %d", size, i, got[i], ref[i], FrameSamples)
					}
				}
			}
		})
	}
}

// TestDTMFToneDigits: each key plays its pair of ITU-T Q.23 frequencies
// (written out here, not taken from the keypad table the code uses).
func TestDTMFToneDigits(t *testing.T) {
	q23 := map[rune][2]float64{
		'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
		'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
		'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
		'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
	}
	for d, f := range q23 {
		pcm, _ := readAll(mustDTMF(t, d, 250*time.Millisecond), FrameSamples, SampleRate/4)
		mid := pcm[200 : 200+1600] // away from the fades
		if low, high := levelAt(mid, f[0]), levelAt(mid, f[1]); math.Abs(low-dtmfLowLevel) > 0.3 || math.Abs(high-dtmfHighLevel) > 0.3 {
			t.Errorf("DTMFTone(%q): %.0f Hz at %.1f dBm0, %.0f Hz at %.1f dBm0; want -8 and -6", d, f[0], low, f[1], high)
		}
	}
	for _, d := range []rune{'E', 'e', ' ', 0, '+', 'é', -1} {
		if _, err := DTMFTone(d, 100*time.Millisecond); !errors.Is(err, ErrBadEvent) {
			t.Errorf("DTMFTone(%q): %v, want ErrBadEvent", d, err)
		}
	}
	// Lower case plays the same tone as upper case.
	for _, d := range "abcd" {
		lower, _ := readAll(mustDTMF(t, d, 60*time.Millisecond), FrameSamples, 1e6)
		upper, _ := readAll(mustDTMF(t, d-'a'+'A', 60*time.Millisecond), FrameSamples, 1e6)
		if !slices.Equal(lower, upper) {
			t.Errorf("%q and %q sound different", d, d-'a'+'A')
		}
	}
}

// TestToneAmplitudeStable: the oscillator's amplitude does not drift over
// a long tone.
func TestToneAmplitudeStable(t *testing.T) {
	pcm, _ := readAll(Beep(1000, 10*time.Minute), FrameSamples, 10*60*SampleRate)
	first := powerDBm0(meanSquare(pcm[SampleRate : 2*SampleRate]))
	last := powerDBm0(meanSquare(pcm[len(pcm)-2*SampleRate : len(pcm)-SampleRate]))
	if math.Abs(first-last) > 0.01 {
		t.Errorf("level %.3f dBm0 after 1 s, %.3f dBm0 after 10 min", first, last)
	}
}

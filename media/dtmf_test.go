package media

import (
	"errors"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseTelephoneEvent(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want TelephoneEvent
	}{
		{"digit 5 start", []byte{5, 10, 0, 160}, TelephoneEvent{Event: 5, Volume: 10, Duration: 160}},
		{"end", []byte{11, 0x80 | 7, 0x03, 0x20}, TelephoneEvent{Event: 11, End: true, Volume: 7, Duration: 800}},
		// RFC 4733 2.3.3: the receiver ignores the R bit.
		{"R bit set", []byte{1, 0x40 | 63, 0xff, 0xff}, TelephoneEvent{Event: 1, Volume: 63, Duration: 0xffff}},
		{"all bits", []byte{0xff, 0xff, 0xff, 0xff}, TelephoneEvent{Event: 255, End: true, Volume: 63, Duration: 0xffff}},
		// Several events in one packet (RFC 4733 2.5.1.5): the first.
		{"two events", []byte{3, 10, 0, 160, 4, 10, 0, 80}, TelephoneEvent{Event: 3, Volume: 10, Duration: 160}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTelephoneEvent(tt.p)
			if err != nil || got != tt.want {
				t.Fatalf("ParseTelephoneEvent(% x) = %+v, %v; want %+v", tt.p, got, err, tt.want)
			}
		})
	}
	for _, p := range [][]byte{nil, {5}, {5, 10, 0}} {
		if _, err := ParseTelephoneEvent(p); !errors.Is(err, ErrBadEvent) {
			t.Errorf("ParseTelephoneEvent(% x): %v, want ErrBadEvent", p, err)
		}
	}
}

func TestEventDigit(t *testing.T) {
	const keys = "0123456789*#ABCD"
	for e := range 256 {
		d, ok := EventDigit(uint8(e))
		if e < 16 {
			if !ok || d != rune(keys[e]) {
				t.Errorf("EventDigit(%d) = %q, %v; want %q", e, d, ok, keys[e])
			}
			if back, ok := DigitEvent(d); !ok || int(back) != e {
				t.Errorf("DigitEvent(%q) = %d, %v; want %d", d, back, ok, e)
			}
		} else if ok {
			t.Errorf("EventDigit(%d) = %q, want no key", e, d)
		}
	}
	for r, want := range map[rune]uint8{'a': 12, 'b': 13, 'c': 14, 'd': 15} {
		if e, ok := DigitEvent(r); !ok || e != want {
			t.Errorf("DigitEvent(%q) = %d, %v; want %d", r, e, ok, want)
		}
	}
	for _, r := range []rune{'E', 'e', '+', ' ', 0, '٣', -1} {
		if e, ok := DigitEvent(r); ok {
			t.Errorf("DigitEvent(%q) = %d, want no event", r, e)
		}
	}
}

// pkt is one telephone-event packet as the tracker sees it.
type pkt struct {
	ts    uint32
	event uint8
	end   bool
	dur   uint16
}

// press returns the packets of one key press as RFC 4733 2.5.1 has a
// sender send them: every 20 ms an update with the duration so far, then
// the end packet three times.
func press(ts uint32, event uint8, ms int) []pkt {
	var out []pkt
	for d := 160; d < ms*8; d += 160 {
		out = append(out, pkt{ts, event, false, uint16(d)})
	}
	for range 3 {
		out = append(out, pkt{ts, event, true, uint16(ms * 8)})
	}
	return out
}

func TestEventTracker(t *testing.T) {
	cat := func(ps ...[]pkt) (out []pkt) {
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	// longPress is a 20 s press: segments of 0xFFFF units (RFC 4733
	// 2.5.1.3), each with the timestamp where the last one ran out.
	var longPress []pkt
	for seg := uint32(0); seg < 3; seg++ {
		ts := 1000 + seg*0xFFFF
		for d := 160; d <= 0xFFFF; d += 160 {
			longPress = append(longPress, pkt{ts, 7, false, uint16(d)})
		}
		longPress = append(longPress, pkt{ts, 7, false, 0xFFFF})
	}
	longPress = append(longPress, press(1000+3*0xFFFF, 7, 500)[2:]...)
	tests := []struct {
		name string
		pkts []pkt
		want string
		// firstAt: index of the packet that reports the first digit
		firstAt int
	}{
		{"one press", press(1000, 5, 200), "5", 0},
		{"two keys", cat(press(1000, 1, 100), press(3000, 2, 100)), "12", 0},
		{"same key twice", cat(press(1000, 1, 100), press(3000, 1, 100)), "11", 0},
		{"star and hash", cat(press(1000, 10, 100), press(3000, 11, 100)), "*#", 0},
		{"first packets lost", press(1000, 5, 200)[3:], "5", 0},
		{"only the end packets", press(1000, 9, 200)[9:], "9", 0},
		{"end packets lost", cat(press(1000, 3, 200)[:5], press(5000, 3, 200)[:5]), "33", 0},
		{"flash is no key", cat(press(1000, 16, 200), press(3000, 4, 100)), "4", 12},
		{"unknown events", cat(press(1000, 17, 100), press(2000, 200, 100), press(3000, 255, 100)), "", -1},
		// The third end packet of the first press arrives after the
		// second press began.
		{"late end retransmission", cat(press(1000, 1, 100)[:6], press(3000, 2, 100)[:1], press(1000, 1, 100)[6:], press(3000, 2, 100)[1:]), "12", 0},
		{"timestamp wraps", cat(press(0xFFFFFF00, 6, 100), press(0x100, 6, 100)), "66", 0},
		// A new SSRC after a re-INVITE starts at a random timestamp, here
		// far behind the old one.
		{"timestamp jumps back", cat(press(5_000_000, 8, 100), press(1000, 8, 100)), "88", 0},
		{"20 s press", cat(longPress, press(5_000_000, 2, 100)), "72", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr EventTracker
			var got []rune
			first := -1
			for i, p := range tt.pkts {
				if d, ok := tr.Observe(p.ts, TelephoneEvent{Event: p.event, End: p.end, Volume: 10, Duration: p.dur}); ok {
					got = append(got, d)
					if first < 0 {
						first = i
					}
				}
			}
			if string(got) != tt.want {
				t.Errorf("digits %q, want %q", string(got), tt.want)
			}
			if first != tt.firstAt {
				t.Errorf("first digit at packet %d, want %d", first, tt.firstAt)
			}
		})
	}
}

func TestEventTrackerReset(t *testing.T) {
	var tr EventTracker
	ev := TelephoneEvent{Event: 4, Duration: 160}
	if d, ok := tr.Observe(500, ev); !ok || d != '4' {
		t.Fatalf("first packet: %q, %v", d, ok)
	}
	if _, ok := tr.Observe(500, ev); ok {
		t.Fatal("same timestamp reported twice")
	}
	tr.Reset()
	if d, ok := tr.Observe(500, ev); !ok || d != '4' {
		t.Errorf("after Reset: %q, %v; want the key again", d, ok)
	}
}

func TestParseDTMFInfo(t *testing.T) {
	tests := []struct {
		ct, body string
		want     rune // 0: error
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5'},
		{"application/dtmf-relay", "Signal=5\nDuration=160", '5'},
		{"Application/DTMF-Relay", "signal = 9\r\nduration = 250", '9'},
		{"application/dtmf-relay; charset=utf-8", "SIGNAL= #", '#'},
		{"application/dtmf-relay", "Duration=160\r\nSignal=*\r\n", '*'},
		{"application/dtmf-relay", "Signal=10\r\nDuration=160", '*'},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160", '#'},
		{"application/dtmf-relay", "Signal=12", 'A'},
		{"application/dtmf-relay", "Signal=d", 'D'},
		{"application/dtmf-relay", "Signal=0", '0'},
		{" application/dtmf-relay ", "Signal=1", '1'},
		{"application/dtmf", "7", '7'},
		{"application/dtmf", " 8\r\n", '8'},
		{"APPLICATION/DTMF;foo=bar", "#", '#'},
		{"application/dtmf", "b", 'B'},
		// Refused.
		{"application/dtmf-relay", "Signal=16\r\nDuration=160", 0}, // flash
		{"application/dtmf-relay", "Signal=\r\nDuration=160", 0},
		{"application/dtmf-relay", "Signal=55", 0},
		{"application/dtmf-relay", "Signal=E", 0},
		{"application/dtmf-relay", "Duration=160", 0},
		{"application/dtmf-relay", "", 0},
		{"application/dtmf-relay", "Signals=5", 0},
		{"application/dtmf", "", 0},
		{"application/dtmf", "12", 0},
		{"application/dtmf", "Signal=5", 0},
		{"text/plain", "5", 0},
		{"application/sdp", "Signal=5", 0},
		{"", "5", 0},
	}
	for _, tt := range tests {
		got, err := ParseDTMFInfo(tt.ct, []byte(tt.body))
		if tt.want == 0 {
			if !errors.Is(err, ErrBadEvent) {
				t.Errorf("ParseDTMFInfo(%q, %q) = %q, %v; want ErrBadEvent", tt.ct, tt.body, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDTMFInfo(%q, %q) = %q, %v; want %q", tt.ct, tt.body, got, err, tt.want)
		}
	}
}

// signal builds test audio: parts are appended one after the other, then
// white noise is added.
type signal struct {
	pcm []float64
}

func (s *signal) add(src Source) *signal {
	frame := make([]int16, 1)
	for src.Read(frame) {
		s.pcm = append(s.pcm, float64(frame[0]))
	}
	return s
}

func (s *signal) silence(ms int) *signal {
	s.pcm = append(s.pcm, make([]float64, ms*SampleRate/1000)...)
	return s
}

// dtmf appends digit with the row and column tones at the given levels.
func (s *signal) dtmf(t testing.TB, digit rune, ms int, low, high float64) *signal {
	t.Helper()
	return s.add(dtmfTone1(t, digit, ms, low, high))
}

// noise adds white Gaussian noise with a mean square of power.
func (s *signal) noise(rng *rand.Rand, power float64) *signal {
	sd := math.Sqrt(power)
	for i := range s.pcm {
		s.pcm[i] += rng.NormFloat64() * sd
	}
	return s
}

func (s *signal) int16s() []int16 {
	out := make([]int16, len(s.pcm))
	for i, v := range s.pcm {
		out[i] = clamp16(v)
	}
	return out
}

// ulaw passes x through G.711 mu-law, as a call does.
func ulaw(x []int16) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = DecodeUlaw(EncodeUlaw(v))
	}
	return out
}

// detect feeds pcm to a new detector in frames of size samples and returns
// every digit it reports.
func detect(pcm []int16, size int) string {
	d := NewToneDetector()
	var got []rune
	for len(pcm) > 0 {
		n := min(size, len(pcm))
		got = append(got, d.Feed(pcm[:n])...)
		pcm = pcm[n:]
	}
	return string(got)
}

// meanSquareDBm0 is the mean square of a sine at level dBm0.
func meanSquareDBm0(level float64) float64 {
	a := dBm0Peak(level)
	return a * a / 2
}

func TestToneDetectorDigits(t *testing.T) {
	const keys = "123A456B789C*0#D"
	for _, level := range []float64{-6, -25} {
		for _, ms := range []int{50, 100} {
			for _, law := range []string{"linear", "mu-law"} {
				name := strconv.FormatFloat(level, 'f', -1, 64) + "dBm0/" + strconv.Itoa(ms) + "ms/" + law
				t.Run(name, func(t *testing.T) {
					s := new(signal).silence(50)
					for _, k := range keys {
						s.dtmf(t, k, ms, level, level).silence(50)
					}
					// 20 dB below the pair of tones.
					s.noise(rand.New(rand.NewPCG(1, uint64(ms))), 2*meanSquareDBm0(level)/100)
					pcm := s.int16s()
					if law == "mu-law" {
						pcm = ulaw(pcm)
					}
					if got := detect(pcm, FrameSamples); got != keys {
						t.Errorf("detected %q, want %q", got, keys)
					}
				})
			}
		}
	}
}

func TestToneDetectorPresses(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	tests := []struct {
		name string
		s    *signal
		want string
	}{
		{"1 1", new(signal).dtmf(t, '1', 100, -8, -6).silence(50).dtmf(t, '1', 100, -8, -6), "11"},
		{"held 1 s", new(signal).silence(30).dtmf(t, '5', 1000, -8, -6).silence(100), "5"},
		{"held 1 s in noise", new(signal).dtmf(t, '0', 1000, -20, -20).silence(100).noise(rng, 2*meanSquareDBm0(-20)/100), "0"},
		{"one key to the next without pause", new(signal).dtmf(t, '2', 100, -8, -6).dtmf(t, '3', 100, -8, -6), "23"},
		{"a 20 ms burst is no press", new(signal).silence(7).dtmf(t, '8', 20, -8, -6).silence(50), ""},
		{"column 7 dB below row", new(signal).dtmf(t, '4', 100, -6, -13), "4"},
		{"column 3 dB above row", new(signal).dtmf(t, '4', 100, -9, -6), "4"},
		{"column 10 dB below row", new(signal).dtmf(t, '4', 100, -6, -16), ""},
		{"column 6 dB above row", new(signal).dtmf(t, '4', 100, -12, -6), ""},
		// A third tone: 4 dB below the row tone it is a second row (no
		// digit), 10 dB below it leaves the row clear.
		{"a second row 4 dB down", new(signal).add(mix(dtmfTone1(t, '1', 100, -6, -6), sine(770, -10, 100))), ""},
		{"a second row 10 dB down", new(signal).add(mix(dtmfTone1(t, '1', 100, -6, -6), sine(770, -16, 100))), "1"},
		{"a second column 4 dB down", new(signal).add(mix(dtmfTone1(t, '1', 100, -6, -6), sine(1336, -10, 100))), ""},
		{"-32 dBm0 tones", new(signal).dtmf(t, '6', 100, -32, -32), "6"},
		{"-36 dBm0 tones", new(signal).dtmf(t, '6', 100, -36, -36), ""},
		{"full scale", new(signal).dtmf(t, '9', 100, -2.85, -2.85), "9"}, // peaks at 32767
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm := tt.s.int16s()
			for _, size := range []int{FrameSamples, 1, 7, 105, 1000} {
				if got := detect(pcm, size); got != tt.want {
					t.Errorf("in frames of %d: detected %q, want %q", size, got, tt.want)
				}
			}
		})
	}
}

func dtmfTone1(t testing.TB, digit rune, ms int, low, high float64) Source {
	t.Helper()
	s, err := dtmfTone(digit, time.Duration(ms)*time.Millisecond, low, high)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sine(freq, level float64, ms int) Source {
	return newTone(ms*SampleRate/1000, dtmfFade, newOscillator(freq, dBm0Peak(level)))
}

// mix adds two sources sample by sample until either ends.
func mix(a, b Source) Source { return &mixer{a, b} }

type mixer struct{ a, b Source }

func (m *mixer) Read(frame []int16) bool {
	other := make([]int16, len(frame))
	if !m.a.Read(frame) || !m.b.Read(other) {
		return false
	}
	for i := range frame {
		frame[i] = clamp16(float64(frame[i]) + float64(other[i]))
	}
	return true
}

// TestToneDetectorPauses: wherever the blocks fall, a 40 ms pause between
// two presses of one key (ITU-T Q.24's shortest) gives two digits, and a
// 10 ms dropout in a long press gives one.
func TestToneDetectorPauses(t *testing.T) {
	tests := []struct {
		name     string
		tone, ms int
		want     string
	}{
		{"40 ms pause", 60, 40, "11"},
		{"50 ms pause", 50, 50, "11"},
		{"10 ms dropout", 300, 10, "1"},
		{"5 ms dropout", 300, 5, "1"},
		{"13 ms dropout", 300, 13, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for lead := range toneBlock {
				s := &signal{pcm: make([]float64, lead)}
				s.dtmf(t, '1', tt.tone, -8, -6).silence(tt.ms).dtmf(t, '1', tt.tone, -8, -6)
				if got := detect(s.int16s(), FrameSamples); got != tt.want {
					t.Fatalf("after %d samples of silence: detected %q, want %q", lead, got, tt.want)
				}
			}
		})
	}
}

// tones returns seconds of the sum of sines at freqs, each at level dBm0,
// from phase 0.
func tones(seconds, level float64, freqs ...float64) []int16 {
	out := make([]int16, int(seconds*SampleRate))
	a := dBm0Peak(level)
	for i := range out {
		var v float64
		for _, f := range freqs {
			v += a * math.Sin(2*math.Pi*f*float64(i)/SampleRate)
		}
		out[i] = clamp16(v)
	}
	return out
}

// speechLike is a voiced sound: harmonics of a fundamental gliding between
// 100 and 140 Hz, shaped by two formants that move through the DTMF bands
// (the first 250-850 Hz, the second 850-2150 Hz), in syllables of 250 ms.
func speechLike(seconds float64) []int16 {
	out := make([]int16, int(seconds*SampleRate))
	formant := func(f, center, width float64) float64 {
		x := (f - center) / width
		return 1 / (1 + x*x)
	}
	var phase float64
	for i := range out {
		t := float64(i) / SampleRate
		f0 := 120 + 20*math.Sin(2*math.Pi*0.5*t)
		phase += 2 * math.Pi * f0 / SampleRate
		f1 := 550 + 300*math.Sin(2*math.Pi*1.3*t)
		f2 := 1500 + 650*math.Sin(2*math.Pi*0.9*t+1)
		var v float64
		for k := 1; float64(k)*f0 < 3800; k++ {
			fk := float64(k) * f0
			v += (formant(fk, f1, 100) + 0.5*formant(fk, f2, 150)) * math.Sin(float64(k)*phase)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*t)
		out[i] = clamp16(v * env * dBm0Peak(-12))
	}
	return out
}

func TestToneDetectorRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	ring, _ := readAll(Ringback(), FrameSamples, 12*SampleRate)
	tests := []struct {
		name string
		pcm  []int16
	}{
		{"silence", make([]int16, 3*SampleRate)},
		{"white noise", new(signal).silence(3000).noise(rng, meanSquareDBm0(-10)).int16s()},
		{"loud white noise", new(signal).silence(3000).noise(rng, meanSquareDBm0(0)).int16s()},
		{"ringback", ring},
		{"dial tone 350+440", tones(3, -13, 350, 440)},
		{"busy 480+620", tones(3, -10, 480, 620)},
		{"1 kHz", tones(2, -10, 1000)},
		{"400 Hz", tones(2, -10, 400)},
		{"a single DTMF frequency", tones(2, -6, 1209)},
		{"two rows", tones(2, -6, 697, 852)},
		{"speech", speechLike(8)},
		{"speech through mu-law", ulaw(speechLike(8))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detect(tt.pcm, FrameSamples); got != "" {
				t.Errorf("detected %q in %s", got, tt.name)
			}
		})
	}
}

// TestToneDetectorNoAlloc: Feed allocates nothing while no digit is found,
// and returns nil.
func TestToneDetectorNoAlloc(t *testing.T) {
	speech := speechLike(1)
	held := new(signal).dtmf(t, '1', 2000, -8, -6).int16s()
	d, h := NewToneDetector(), NewToneDetector()
	if got := h.Feed(held[:4000]); string(got) != "1" { // the press; the rest is holding
		t.Fatalf("press: %q", got)
	}
	i, j := 0, 4000
	allocs := testing.AllocsPerRun(100, func() {
		if got := d.Feed(speech[i : i+FrameSamples]); got != nil {
			t.Fatalf("speech: %q", got)
		}
		i = (i + FrameSamples) % (len(speech) - FrameSamples)
	})
	allocs += testing.AllocsPerRun(50, func() {
		if got := h.Feed(held[j : j+FrameSamples]); got != nil {
			t.Fatalf("held key: %q", got)
		}
		j += FrameSamples
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per frame without a new digit", allocs)
	}
}

// TestToneDetectorSox detects digits in audio sox made: each digit's two
// sines mixed by sox's synth, 60 ms with 50 ms of silence after.
func TestToneDetectorSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed")
	}
	const keys = "159#*0D"
	dir := t.TempDir()
	var pcm []int16
	for i, k := range keys {
		row, col, _ := dtmfPosition(k)
		file := filepath.Join(dir, strconv.Itoa(i)+".wav")
		args := []string{"-D", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", file,
			"synth", "0.06", "sine", strconv.FormatFloat(dtmfRows[row], 'f', -1, 64),
			"synth", "0.06", "sine", "mix", strconv.FormatFloat(dtmfCols[col], 'f', -1, 64),
			"vol", "0.5", "pad", "0", "0.05"}
		if out, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
			t.Fatalf("sox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		p, err := LoadWAV(file)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, p...)
	}
	if got := detect(pcm, FrameSamples); got != keys {
		t.Errorf("detected %q, want %q", got, keys)
	}
	if got := detect(ulaw(pcm), FrameSamples); got != keys {
		t.Errorf("through mu-law: detected %q, want %q", got, keys)
	}
}

// BenchmarkToneDetector: the cost per 160-sample frame of live audio,
// for frames with a tone (every block analysed) and silent frames (power
// below the threshold: no Goertzel).
func BenchmarkToneDetector(b *testing.B) {
	for _, bc := range []struct {
		name string
		pcm  []int16
	}{
		{"speech", speechLike(2)},
		{"dtmf", new(signal).dtmf(b, '5', 2000, -8, -6).int16s()},
		{"silence", make([]int16, 2*SampleRate)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := NewToneDetector()
			i := 0
			for b.Loop() {
				d.Feed(bc.pcm[i : i+FrameSamples])
				i = (i + FrameSamples) % len(bc.pcm)
			}
		})
	}
}

package media

import (
	"fmt"
	"math"
	"time"
)

// Levels are in dBm0 as G.711 sets them: a sine whose peaks just reach the
// codec's full scale is +3.17 dBm0 (mu-law; A-law's +3.14 is taken as the
// same). With 16-bit full scale taken as 32767, a 0 dBm0 sine has a peak of
// 32767 * 10^(-3.17/20) = 22748.
const fullScaleDBm0 = 3.17

// dBm0Peak is the peak amplitude, in 16-bit linear units, of a sine at
// level dBm0.
func dBm0Peak(level float64) float64 {
	return 32767 * math.Pow(10, (level-fullScaleDBm0)/20)
}

const (
	// ringbackLevel is each of the two ringback tones: -19 dBm0, a peak
	// of 2552 (the North American precise tone plan puts audible ringing
	// at -19 dBm0 per frequency).
	ringbackLevel = -19.0
	// beepLevel is the Beep's tone: -10 dBm0, a peak of 7193. Loud enough
	// to mark "speak now" over a prompt at a usual -15 to -20 dBm0 speech
	// level, well below clipping.
	beepLevel = -10.0
	// dtmfLowLevel and dtmfHighLevel are the row and column tones of
	// DTMFTone: -8 and -6 dBm0 (peaks 9056 and 11401), the nominal levels
	// of a telephone's keypad, the high group 2 dB stronger to make up for
	// the line's loss at higher frequencies.
	dtmfLowLevel  = -8.0
	dtmfHighLevel = -6.0
)

// Fades at the start and end of a tone. A sine switched on or off at full
// level is heard as a click.
const (
	beepFade = 5 * SampleRate / 1000 // 5 ms
	// dtmfFade is shorter so that a 50 ms digit keeps the 40 ms of full
	// level a receiver needs (ITU-T Q.24).
	dtmfFade     = 2 * SampleRate / 1000
	ringbackFade = beepFade
)

// Ringback cadence (North America): 2 s on, 4 s off.
const (
	ringbackOn     = 2 * SampleRate
	ringbackPeriod = 6 * SampleRate
)

// dtmfRows and dtmfCols are the DTMF frequencies (ITU-T Q.23): a digit is
// one of each. dtmfKeys lays the keypad out by row and column.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
)

// oscillator is a sine generator that rotates a phasor by a fixed angle each
// sample: two multiplications and additions per sample instead of a
// math.Sin, and the phase carries over from one Read to the next by itself.
type oscillator struct {
	c, s   float64 // the phasor: cos and sin of the current phase
	cw, sw float64 // cos and sin of the step
	amp    float64
}

func newOscillator(freq, amp float64) oscillator {
	w := 2 * math.Pi * freq / SampleRate
	if !(freq > 0 && freq < SampleRate/2) { // also NaN: nothing to play
		amp = 0
		w = 0
	}
	return oscillator{c: 1, cw: math.Cos(w), sw: math.Sin(w), amp: amp}
}

func (o *oscillator) next() float64 {
	v := o.s * o.amp
	o.c, o.s = o.c*o.cw-o.s*o.sw, o.c*o.sw+o.s*o.cw
	return v
}

// renormalize pulls the phasor back to unit length; rounding errors would
// otherwise make the amplitude drift over a long tone. One Newton step is
// enough at once per frame.
func (o *oscillator) renormalize() {
	k := 1.5 - 0.5*(o.c*o.c+o.s*o.s)
	o.c *= k
	o.s *= k
}

// tone is a sum of up to two sines of length samples with a linear fade in
// and out.
type tone struct {
	osc    [2]oscillator
	pos    int
	length int
	fade   int
}

func newTone(length, fade int, o ...oscillator) *tone {
	t := &tone{length: max(length, 0), fade: min(fade, max(length, 0)/2)}
	copy(t.osc[:], o)
	return t
}

// sample returns the next sample; past the end it returns 0.
func (t *tone) sample() int16 {
	if t.pos >= t.length {
		return 0
	}
	v := t.osc[0].next() + t.osc[1].next()
	if t.fade > 0 {
		if t.pos < t.fade {
			v *= (float64(t.pos) + 0.5) / float64(t.fade)
		} else if left := t.length - t.pos; left <= t.fade {
			v *= (float64(left) - 0.5) / float64(t.fade)
		}
	}
	t.pos++
	return clamp16(v)
}

func (t *tone) endFrame() {
	t.osc[0].renormalize()
	t.osc[1].renormalize()
}

func (t *tone) Read(frame []int16) bool {
	if t.pos >= t.length {
		return false
	}
	for i := range frame {
		frame[i] = t.sample()
	}
	t.endFrame()
	return true
}

func clamp16(v float64) int16 {
	return int16(math.Round(max(-32768, min(32767, v))))
}

// samples converts a duration to a number of samples at SampleRate, rounded
// to the nearest; negative durations are 0.
func samples(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d*SampleRate + time.Second/2) / time.Second)
}

// Ringback returns the North American ringback tone: 440 Hz
// plus 480 Hz at -19 dBm0 each, 2 s on and 4 s off, with 5 ms fades at each
// edge of a burst. It never ends; the caller stops reading it when the call
// is answered.
func Ringback() Source {
	return &ringback{}
}

type ringback struct {
	on  *tone
	pos int // in the 6 s cycle
}

func (r *ringback) Read(frame []int16) bool {
	for i := range frame {
		if r.pos == 0 {
			// Each burst starts from phase 0 again, so the oscillators
			// never run for long.
			a := dBm0Peak(ringbackLevel)
			r.on = newTone(ringbackOn, ringbackFade, newOscillator(440, a), newOscillator(480, a))
		}
		frame[i] = r.on.sample()
		r.pos = (r.pos + 1) % ringbackPeriod
	}
	r.on.endFrame()
	return true
}

// Beep returns one tone of freq Hz at -10 dBm0 lasting d (rounded to whole
// samples), faded in and out over 5 ms. The voicemail beep is
// Beep(1000, 250*time.Millisecond). A frequency that 8 kHz audio cannot
// carry (not between 0 and 4000 Hz) plays as silence of the same length.
func Beep(freq float64, d time.Duration) Source {
	return newTone(samples(d), beepFade, newOscillator(freq, dBm0Peak(beepLevel)))
}

// DTMFTone returns the tone pair of digit (0-9, *, #, A-D; a-d too) lasting
// d, the row tone at -8 dBm0 and the column tone at -6 dBm0, with 2 ms fades.
func DTMFTone(digit rune, d time.Duration) (Source, error) {
	return dtmfTone(digit, d, dtmfLowLevel, dtmfHighLevel)
}

func dtmfTone(digit rune, d time.Duration, low, high float64) (*tone, error) {
	row, col, ok := dtmfPosition(digit)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a DTMF digit", ErrBadEvent, digit)
	}
	return newTone(samples(d), dtmfFade,
		newOscillator(dtmfRows[row], dBm0Peak(low)),
		newOscillator(dtmfCols[col], dBm0Peak(high))), nil
}

// dtmfPosition finds digit on the keypad.
func dtmfPosition(digit rune) (row, col int, ok bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for r := range dtmfKeys {
		for c, k := range dtmfKeys[r] {
			if k == digit {
				return r, c, true
			}
		}
	}
	return 0, 0, false
}

// Silence returns d of silence (rounded to whole samples).
func Silence(d time.Duration) Source {
	return newTone(samples(d), 0)
}

// Concat returns a Source that plays srcs one after the other and ends after
// the last; nil entries are skipped. A source that ends inside a frame has
// its frame filled with silence, as it does alone, so the next starts on a
// frame boundary: Silence and Beep lengths that are multiples of 20 ms join
// without a gap.
func Concat(srcs ...Source) Source {
	// A copy: Read drops finished sources from the list it keeps.
	return &concat{srcs: append([]Source(nil), srcs...)}
}

type concat struct {
	srcs []Source
}

func (c *concat) Read(frame []int16) bool {
	for len(c.srcs) > 0 {
		if s := c.srcs[0]; s != nil && s.Read(frame) {
			return true
		}
		c.srcs[0] = nil // let the finished source go
		c.srcs = c.srcs[1:]
	}
	return false
}

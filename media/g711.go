package media

// G.711 (ITU-T Recommendation G.711, 1988): 8-bit logarithmic companding of
// 8 kHz audio. The mu-law variant is used in North America and Japan, the
// A-law variant everywhere else; a trunk and a phone can disagree, so the
// relay converts between them one byte at a time.
//
// Linear samples here are 16-bit signed PCM. mu-law works on 14 bits and
// A-law on 13 bits; the low bits are dropped on encode and decoded values
// are the middle of each quantisation interval, scaled back to 16 bits.

const (
	ulawBias = 0x84 // 33 << 2: the mu-law segment offset in 16-bit scale
	ulawClip = 8159 // largest 14-bit magnitude mu-law encodes
)

// ulawSegEnd are the upper bounds of the eight mu-law segments in biased
// 14-bit magnitude.
var ulawSegEnd = [8]int{0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff}

// EncodeUlaw compresses one linear sample to mu-law. The 16-bit sample is
// first rounded to the 14 bits mu-law works on (as sox does, so our output
// matches it byte for byte; see testdata/gen.sh).
func EncodeUlaw(s int16) byte {
	x := min((int(s)+2)>>2, 8191)
	mask := 0xff
	if x < 0 {
		x = -x
		mask = 0x7f
	}
	x = min(x, ulawClip) + ulawBias>>2
	// The segment (exponent) is where the highest set bit of the biased
	// magnitude lies; the four bits below it are the mantissa.
	seg := 0
	for seg < 8 && x > ulawSegEnd[seg] {
		seg++
	}
	if seg == 8 {
		return byte(0x7f ^ mask)
	}
	// G.711 transmits the code inverted, so that silence is a byte with
	// many ones.
	return byte((seg<<4 | (x>>(seg+1))&0x0f) ^ mask)
}

// DecodeUlaw expands one mu-law byte to a linear sample.
func DecodeUlaw(u byte) int16 {
	return ulawToLinear[u]
}

func decodeUlaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// alawSegEnd are the upper bounds of the eight A-law segments in 13-bit
// magnitude.
var alawSegEnd = [8]int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff}

// EncodeAlaw compresses one linear sample to A-law, after rounding it to
// the 13 bits A-law works on.
func EncodeAlaw(s int16) byte {
	x := min((int(s)+4)>>3, 4095)
	mask := 0xd5 // sign bit set for positive values, even bits inverted (G.711 table 1a)
	if x < 0 {
		mask = 0x55
		x = -x - 1
	}
	seg := 0
	for seg < 8 && x > alawSegEnd[seg] {
		seg++
	}
	if seg == 8 {
		return byte(0x7f ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= (x >> 1) & 0x0f
	} else {
		a |= (x >> seg) & 0x0f
	}
	return byte(a ^ mask)
}

// DecodeAlaw expands one A-law byte to a linear sample.
func DecodeAlaw(a byte) int16 {
	return alawToLinear[a]
}

func decodeAlaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f)<<4 + 8 // middle of the interval
	seg := (a & 0x70) >> 4
	if seg > 0 {
		t += 0x100
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// UlawToAlaw converts one mu-law byte to the nearest A-law code.
func UlawToAlaw(u byte) byte { return ulawToAlaw[u] }

// AlawToUlaw converts one A-law byte to the nearest mu-law code.
func AlawToUlaw(a byte) byte { return alawToUlaw[a] }

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	ulawToAlaw   [256]byte
	alawToUlaw   [256]byte
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = decodeUlaw(byte(i))
		alawToLinear[i] = decodeAlaw(byte(i))
	}
	// The direct conversion tables (G.711 tables 3 and 4 serve the same
	// purpose): decode to linear, re-encode in the other law. One lookup per
	// byte on the relay path.
	for i := range 256 {
		ulawToAlaw[i] = EncodeAlaw(ulawToLinear[i])
		alawToUlaw[i] = EncodeUlaw(alawToLinear[i])
	}
}

// transcode converts p in place through table t.
func transcode(p []byte, t *[256]byte) {
	for i, c := range p {
		p[i] = t[c]
	}
}

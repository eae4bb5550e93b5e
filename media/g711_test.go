package media

import (
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		// mu-law: 0xFF is positive zero, 0x7F negative zero, 0x80/0x00
		// the positive/negative peaks (G.711 table 2a).
		{"ulaw 0xFF", int(DecodeUlaw(0xff)), 0},
		{"ulaw 0x7F", int(DecodeUlaw(0x7f)), 0},
		{"ulaw 0x80", int(DecodeUlaw(0x80)), 32124},
		{"ulaw 0x00", int(DecodeUlaw(0x00)), -32124},
		{"ulaw encode 0", int(EncodeUlaw(0)), 0xff},
		{"ulaw encode max", int(EncodeUlaw(32767)), 0x80},
		{"ulaw encode min", int(EncodeUlaw(-32768)), 0x00},
		// A-law: 0xD5/0x55 are the smallest positive/negative steps
		// around zero; 0xAA/0x2A the peaks.
		{"alaw 0xD5", int(DecodeAlaw(0xd5)), 8},
		{"alaw 0x55", int(DecodeAlaw(0x55)), -8},
		{"alaw 0xAA", int(DecodeAlaw(0xaa)), 32256},
		{"alaw 0x2A", int(DecodeAlaw(0x2a)), -32256},
		{"alaw encode 0", int(EncodeAlaw(0)), 0xd5},
		{"alaw encode -1", int(EncodeAlaw(-1)), 0xd5}, // rounds to 0
		{"alaw encode -8", int(EncodeAlaw(-8)), 0x55},
		{"alaw encode max", int(EncodeAlaw(32767)), 0xaa},
		{"alaw encode min", int(EncodeAlaw(-32768)), 0x2a},
		{"ulaw->alaw silence", int(UlawToAlaw(0xff)), 0xd5},
		// A-law's smallest positive level (+8) exists in mu-law too (0xFE).
		{"alaw->ulaw smallest", int(AlawToUlaw(0xd5)), 0xfe},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d (%#x), want %d (%#x)", tt.name, tt.got, tt.got, tt.want, tt.want)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	for i := range 256 {
		c := byte(i)
		// 0x7F is mu-law's negative zero: it decodes to 0 like 0xFF, and 0
		// encodes to 0xFF. The only code without a round trip.
		if c != 0x7f {
			if got := EncodeUlaw(DecodeUlaw(c)); got != c {
				t.Errorf("ulaw %#02x -> %d -> %#02x", c, DecodeUlaw(c), got)
			}
		}
		if got := EncodeAlaw(DecodeAlaw(c)); got != c {
			t.Errorf("alaw %#02x -> %d -> %#02x", c, DecodeAlaw(c), got)
		}
	}
}

// ulawIndex orders mu-law codes by the linear value they stand for, so that
// "one step" can be measured.
func ulawIndex(u byte) int {
	if u&0x80 != 0 {
		return 128 + int(0x7f-(u&0x7f)) // positive: 0xFF (zero) .. 0x80 (peak)
	}
	return int(u & 0x7f) // negative: 0x00 (peak) .. 0x7F (zero)
}

// alawIndex does the same for A-law codes (even bits inverted, sign bit set
// for positive values).
func alawIndex(a byte) int {
	v := a ^ 0x55
	if v&0x80 != 0 {
		return 128 + int(v&0x7f)
	}
	return 127 - int(v&0x7f)
}

func TestG711Conversion(t *testing.T) {
	for i := range 256 {
		u := byte(i)
		back := AlawToUlaw(UlawToAlaw(u))
		if d := ulawIndex(back) - ulawIndex(u); d < -1 || d > 1 {
			if u != 0x7f { // negative zero decodes like 0xFF: one step from 0xFE
				t.Errorf("ulaw %#02x -> alaw %#02x -> ulaw %#02x: %d steps", u, UlawToAlaw(u), back, d)
			}
		}
		a := byte(i)
		if got := UlawToAlaw(AlawToUlaw(a)); absInt(alawIndex(got)-alawIndex(a)) > 1 {
			t.Errorf("alaw %#02x -> ulaw %#02x -> alaw %#02x (%d vs %d)", a, AlawToUlaw(a), got, DecodeAlaw(a), DecodeAlaw(got))
		}
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Encoding is monotonic: a louder sample never gets a code for a quieter
// level, and the decoded value is within half a step of the input.
func TestG711EncodeError(t *testing.T) {
	for s := -32768; s <= 32767; s += 7 {
		x := int16(s)
		if s > -32124 && s < 32124 {
			if e := absInt(int(DecodeUlaw(EncodeUlaw(x))) - s); e > 1024 {
				t.Fatalf("ulaw error %d at %d", e, s)
			}
		}
		if e := absInt(int(DecodeAlaw(EncodeAlaw(x))) - s); e > 1024 {
			t.Fatalf("alaw error %d at %d", e, s)
		}
	}
}

func BenchmarkTranscode160(b *testing.B) {
	p := make([]byte, 160)
	for i := range p {
		p[i] = byte(i)
	}
	b.SetBytes(160)
	for b.Loop() {
		transcode(p, &ulawToAlaw)
	}
}

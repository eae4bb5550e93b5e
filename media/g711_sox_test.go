package media

import (
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"testing"
)

// The vectors in testdata come from sox (testdata/gen.sh): every 16-bit
// sample encoded in both laws, and every code decoded.

func readGzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestG711EncodeMatchesSox(t *testing.T) {
	for _, law := range []struct {
		file   string
		encode func(int16) byte
	}{
		{"testdata/ramp.ulaw.gz", EncodeUlaw},
		{"testdata/ramp.alaw.gz", EncodeAlaw},
	} {
		want := readGzip(t, law.file)
		if len(want) != 65536 {
			t.Fatalf("%s: %d samples", law.file, len(want))
		}
		bad := 0
		for i, w := range want {
			s := int16(i - 32768)
			if got := law.encode(s); got != w {
				if bad++; bad <= 5 {
					t.Errorf("%s: sample %d encodes to %#02x, sox %#02x", law.file, s, got, w)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of 65536 samples differ", law.file, bad)
		}
	}
}

func TestG711DecodeMatchesSox(t *testing.T) {
	for _, law := range []struct {
		file   string
		decode func(byte) int16
	}{
		{"testdata/ulaw_decoded.s16", DecodeUlaw},
		{"testdata/alaw_decoded.s16", DecodeAlaw},
	} {
		b, err := os.ReadFile(law.file)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 256 {
			want := int16(binary.LittleEndian.Uint16(b[2*i:]))
			if got := law.decode(byte(i)); got != want {
				t.Errorf("%s: code %#02x decodes to %d, sox %d", law.file, i, got, want)
			}
		}
	}
}

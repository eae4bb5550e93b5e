package media

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadWAV: ReadWAV never panics; it either returns ErrBadWAV, or
// samples no more than the file's bytes could hold (so nothing was made up
// from a declared size) and within MaxPromptSamples.
func FuzzReadWAV(f *testing.F) {
	list := wavChunk{id: "LIST", body: []byte("INFOISFT\x03\x00\x00\x00ab\x00"), size: -1}
	pcm := monoWAV(wavePCM, 16, le16(1, -2, 300, -32768))
	ext := monoWAV(waveExtensible, 8, []byte{1, 2, 3})
	ext.sub = waveMuLaw
	odd := monoWAV(waveALaw, 8, []byte{1, 2, 3})
	odd.before = []wavChunk{{id: "junk", body: []byte("x"), size: -1}}
	odd.between = []wavChunk{list}
	odd.fmtSize = 18
	long := monoWAV(waveMuLaw, 8, []byte{9, 9})
	long.dataSize = 0xFFFFFFFF
	for _, w := range []testWAV{pcm, ext, odd, long} {
		f.Add(w.bytes())
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, file []byte) {
		got, err := ReadWAV(bytes.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrBadWAV) {
				t.Fatalf("error not ErrBadWAV from a byte slice: %v", err)
			}
			return
		}
		if len(got) > len(file) || len(got) > MaxPromptSamples {
			t.Fatalf("%d samples from %d bytes", len(got), len(file))
		}
	})
}

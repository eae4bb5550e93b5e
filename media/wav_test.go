package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// wavChunk is one RIFF chunk for the test writer.
type wavChunk struct {
	id   string
	body []byte
	size int64 // declared size; -1 for len(body)
}

// testWAV describes a file for the test writer, which puts the pieces in
// the order given so that tests can write files real writers produce and
// files they should not.
type testWAV struct {
	tag        uint16
	channels   uint16
	rate       uint32
	bits       uint16
	blockAlign int // -1: channels*bits/8
	fmtSize    int // 0: 16, or 40 for WAVE_FORMAT_EXTENSIBLE; larger pads with zeros
	sub        int // subformat tag for WAVE_FORMAT_EXTENSIBLE
	data       []byte
	dataSize   int64 // declared; -1 for len(data)
	before     []wavChunk
	between    []wavChunk // after fmt, before data
	after      []wavChunk
	noFmt      bool
	cut        int // bytes cut off the end of the file
}

func monoWAV(tag, bits uint16, data []byte) testWAV {
	return testWAV{tag: tag, channels: 1, rate: 8000, bits: bits, blockAlign: -1, dataSize: -1, data: data}
}

func (w testWAV) fmtBody() []byte {
	size := w.fmtSize
	if size == 0 {
		size = 16
		if w.tag == waveExtensible {
			size = 40
		}
	}
	b := make([]byte, max(size, 40))
	binary.LittleEndian.PutUint16(b[0:], w.tag)
	binary.LittleEndian.PutUint16(b[2:], w.channels)
	binary.LittleEndian.PutUint32(b[4:], w.rate)
	align := w.blockAlign
	if align < 0 {
		align = int(w.channels) * int(w.bits) / 8
	}
	binary.LittleEndian.PutUint32(b[8:], w.rate*uint32(align))
	binary.LittleEndian.PutUint16(b[12:], uint16(align))
	binary.LittleEndian.PutUint16(b[14:], w.bits)
	if w.tag == waveExtensible {
		binary.LittleEndian.PutUint16(b[16:], 22) // cbSize
		binary.LittleEndian.PutUint16(b[18:], w.bits)
		binary.LittleEndian.PutUint32(b[20:], 4) // SPEAKER_FRONT_CENTER
		// KSDATAFORMAT_SUBTYPE_*: the tag, then a fixed GUID tail.
		binary.LittleEndian.PutUint32(b[24:], uint32(w.sub))
		copy(b[28:], "\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
	}
	return b[:size]
}

func (w testWAV) bytes() []byte {
	var body bytes.Buffer
	body.WriteString("WAVE")
	put := func(c wavChunk) {
		size := c.size
		if size < 0 {
			size = int64(len(c.body))
		}
		body.WriteString(c.id)
		binary.Write(&body, binary.LittleEndian, uint32(size))
		body.Write(c.body)
		if len(c.body)%2 == 1 {
			body.WriteByte(0) // RIFF pads chunks to even sizes
		}
	}
	for _, c := range w.before {
		put(c)
	}
	if !w.noFmt {
		put(wavChunk{id: "fmt ", body: w.fmtBody(), size: -1})
	}
	for _, c := range w.between {
		put(c)
	}
	put(wavChunk{id: "data", body: w.data, size: w.dataSize})
	for _, c := range w.after {
		put(c)
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()[:out.Len()-w.cut]
}

func le16(pcm ...int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func decodeAll(b []byte, dec func(byte) int16) []int16 {
	out := make([]int16, len(b))
	for i, c := range b {
		out[i] = dec(c)
	}
	return out
}

func TestReadWAV(t *testing.T) {
	ramp := []int16{0, 1, -1, 32767, -32768, 1000, -1000, 12345}
	list := wavChunk{id: "LIST", body: []byte("INFOISFT\x0e\x00\x00\x00Lavf60.16.100\x00"), size: -1}
	odd := wavChunk{id: "junk", body: []byte("abc"), size: -1}
	fact := wavChunk{id: "fact", body: []byte{0, 1, 0, 0}, size: -1}
	ext := func(sub int, bits uint16, data []byte) testWAV {
		w := monoWAV(waveExtensible, bits, data)
		w.sub = sub
		return w
	}
	with := func(w testWAV, f func(*testWAV)) testWAV {
		f(&w)
		return w
	}
	tests := []struct {
		name string
		wav  testWAV
		want []int16
	}{
		{"pcm16", monoWAV(wavePCM, 16, le16(ramp...)), ramp},
		{"alaw", monoWAV(waveALaw, 8, allBytes()), decodeAll(allBytes(), DecodeAlaw)},
		{"ulaw", monoWAV(waveMuLaw, 8, allBytes()), decodeAll(allBytes(), DecodeUlaw)},
		{"extensible pcm16", ext(wavePCM, 16, le16(ramp...)), ramp},
		{"extensible alaw", ext(waveALaw, 8, allBytes()), decodeAll(allBytes(), DecodeAlaw)},
		{"extensible ulaw", ext(waveMuLaw, 8, allBytes()), decodeAll(allBytes(), DecodeUlaw)},
		{"LIST before fmt", with(monoWAV(wavePCM, 16, le16(ramp...)), func(w *testWAV) { w.before = []wavChunk{list} }), ramp},
		{"LIST and fact before data", with(monoWAV(waveMuLaw, 8, []byte{0xff, 0x80}), func(w *testWAV) { w.between = []wavChunk{list, fact} }), []int16{0, 32124}},
		{"odd chunk padded", with(monoWAV(wavePCM, 16, le16(ramp...)), func(w *testWAV) { w.before = []wavChunk{odd}; w.between = []wavChunk{odd} }), ramp},
		{"18-byte fmt", with(monoWAV(waveALaw, 8, []byte{0xd5, 0x55}), func(w *testWAV) { w.fmtSize = 18 }), []int16{8, -8}},
		{"50-byte extensible fmt", with(ext(wavePCM, 16, le16(5, 6)), func(w *testWAV) { w.fmtSize = 50 }), []int16{5, 6}},
		{"odd ulaw data, LIST after", with(monoWAV(waveMuLaw, 8, []byte{0xff, 0x80, 0x00}), func(w *testWAV) { w.after = []wavChunk{list} }), []int16{0, 32124, -32124}},
		{"empty data", monoWAV(wavePCM, 16, nil), []int16{}},
		// A file still being written: the header promises more than is there.
		{"data size too large", with(monoWAV(wavePCM, 16, le16(ramp...)), func(w *testWAV) { w.dataSize = 1000 }), ramp},
		{"data size 0xFFFFFFFF", with(monoWAV(waveMuLaw, 8, allBytes()), func(w *testWAV) { w.dataSize = 0xFFFFFFFF }), decodeAll(allBytes(), DecodeUlaw)},
		// Cut inside a sample: the half sample is dropped.
		{"half a sample", with(monoWAV(wavePCM, 16, le16(ramp[:3]...)), func(w *testWAV) { w.dataSize = 16; w.cut = 1 }), ramp[:2]},
		// Data size says less than is there: what follows is another chunk.
		{"data size smaller", with(monoWAV(wavePCM, 16, le16(ramp...)), func(w *testWAV) { w.dataSize = 4 }), ramp[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWAV(bytes.NewReader(tt.wav.bytes()))
			if err != nil {
				t.Fatalf("ReadWAV: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("samples\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestReadWAVRejects(t *testing.T) {
	ok := func() testWAV { return monoWAV(wavePCM, 16, le16(1, 2, 3)) }
	mod := func(f func(*testWAV)) []byte {
		w := ok()
		f(&w)
		return w.bytes()
	}
	full := ok().bytes()
	tests := []struct {
		name string
		file []byte
		want string // in the error
	}{
		{"44.1 kHz", mod(func(w *testWAV) { w.rate = 44100 }), "44100 Hz, need 8000"},
		{"16 kHz", mod(func(w *testWAV) { w.rate = 16000 }), "16000 Hz, need 8000"},
		{"stereo", mod(func(w *testWAV) { w.channels = 2 }), "2 channels, need mono"},
		{"no channels", mod(func(w *testWAV) { w.channels = 0 }), "0 channels, need mono"},
		{"8-bit pcm", mod(func(w *testWAV) { w.bits = 8 }), "8-bit PCM, need 16-bit"},
		{"24-bit pcm", mod(func(w *testWAV) { w.bits = 24 }), "24-bit PCM, need 16-bit"},
		{"16-bit ulaw", mod(func(w *testWAV) { w.tag = waveMuLaw }), "16-bit mu-law, need 8-bit"},
		{"float", mod(func(w *testWAV) { w.tag = 3; w.bits = 32 }), "format 0x0003"},
		{"gsm", mod(func(w *testWAV) { w.tag = 0x31 }), "format 0x0031"},
		{"extensible float", mod(func(w *testWAV) { w.tag = waveExtensible; w.sub = 3; w.bits = 32 }), "format 0x0003"},
		{"extensible stereo", mod(func(w *testWAV) { w.tag = waveExtensible; w.sub = 1; w.channels = 2 }), "2 channels"},
		{"short extensible fmt", mod(func(w *testWAV) { w.tag = waveExtensible; w.sub = 1; w.fmtSize = 18 }), "need 40"},
		{"short fmt", mod(func(w *testWAV) { w.fmtSize = 14 }), "fmt chunk of 14 bytes"},
		{"block align", mod(func(w *testWAV) { w.blockAlign = 4 }), "block align 4"},
		{"no fmt", mod(func(w *testWAV) { w.noFmt = true }), "data chunk before fmt"},
		{"fmt after data", mod(func(w *testWAV) { w.noFmt = true; w.after = []wavChunk{{id: "fmt ", body: ok().fmtBody(), size: -1}} }), "data chunk before fmt"},
		{"not RIFF", append([]byte("RIFX"), full[4:]...), "not a RIFF/WAVE file"},
		{"not WAVE", append(append(slices.Clone(full[:8]), "AVI "...), full[12:]...), "not a RIFF/WAVE file"},
		{"empty", nil, "truncated RIFF header"},
		{"cut in RIFF header", full[:7], "truncated RIFF header"},
		{"no chunks", full[:12], "no data chunk"},
		{"cut in chunk header", full[:15], "truncated chunk header"},
		{"cut in fmt", full[:12+8+10], "truncated fmt chunk"},
		{"no data chunk", full[:12+8+16], "no data chunk"},
		{"LIST runs past the end", mod(func(w *testWAV) { w.before = []wavChunk{{id: "LIST", body: []byte("INFO"), size: 0xFFFFFFF0}} }), `truncated "LIST" chunk`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pcm, err := ReadWAV(bytes.NewReader(tt.file))
			if !errors.Is(err, ErrBadWAV) {
				t.Fatalf("ReadWAV = %d samples, %v; want ErrBadWAV", len(pcm), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestReadWAVLength(t *testing.T) {
	header := func(dataSize uint32) []byte {
		w := monoWAV(waveMuLaw, 8, nil)
		b := w.bytes()
		binary.LittleEndian.PutUint32(b[len(b)-4:], dataSize)
		return b
	}
	tests := []struct {
		name     string
		declared uint32
		there    int64
		wantErr  bool
	}{
		{"10 minutes", MaxPromptSamples, MaxPromptSamples, false},
		{"10 minutes, size unknown", 0xFFFFFFFF, MaxPromptSamples, false},
		{"10 minutes and a sample", MaxPromptSamples + 1, MaxPromptSamples + 1, true},
		{"endless stream", 0xFFFFFFFF, 1 << 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(bytes.NewReader(header(tt.declared)), io.LimitReader(zeros{}, tt.there))
			pcm, err := ReadWAV(r)
			if tt.wantErr {
				if !errors.Is(err, ErrBadWAV) || !strings.Contains(err.Error(), "longer than 10 minutes") {
					t.Fatalf("ReadWAV = %d samples, %v; want too long", len(pcm), err)
				}
				return
			}
			if err != nil || len(pcm) != int(tt.there) {
				t.Fatalf("ReadWAV = %d samples, %v; want %d", len(pcm), err, tt.there)
			}
		})
	}
}

// TestReadWAVMemory: what a header declares costs no memory until the
// bytes are really there.
func TestReadWAVMemory(t *testing.T) {
	for _, w := range []testWAV{
		func() testWAV { w := monoWAV(wavePCM, 16, le16(1, 2)); w.dataSize = 0xFFFFFFFE; return w }(),
		func() testWAV {
			w := monoWAV(wavePCM, 16, le16(1, 2))
			w.before = []wavChunk{{id: "LIST", body: nil, size: 0xFFFFFFF0}}
			return w
		}(),
	} {
		file := w.bytes()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ReadWAV(bytes.NewReader(file))
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("reading a %d-byte file allocated %d bytes", len(file), n)
		}
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadWAVReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	file := monoWAV(wavePCM, 16, le16(1, 2, 3, 4)).bytes()
	for _, cut := range []int{5, 20, len(file) - 3} {
		_, err := ReadWAV(&failingReader{data: file[:cut], err: boom})
		if !errors.Is(err, boom) || errors.Is(err, ErrBadWAV) {
			t.Errorf("cut at %d: %v, want the reader's error", cut, err)
		}
	}
}

func TestLoadWAV(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "prompt.wav")
	bad := filepath.Join(dir, "cd.wav")
	if err := os.WriteFile(good, monoWAV(waveALaw, 8, []byte{0xd5, 0x2a}).bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	w := monoWAV(wavePCM, 16, le16(1, 2))
	w.rate = 44100
	if err := os.WriteFile(bad, w.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pcm, err := LoadWAV(good)
	if err != nil || !slices.Equal(pcm, []int16{8, -32256}) {
		t.Errorf("LoadWAV(%s) = %v, %v", good, pcm, err)
	}
	_, err = LoadWAV(bad)
	if !errors.Is(err, ErrBadWAV) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "44100 Hz") {
		t.Errorf("LoadWAV(44.1 kHz file): %v, want ErrBadWAV naming %s", err, bad)
	}
	missing := filepath.Join(dir, "missing.wav")
	_, err = LoadWAV(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadWAV(missing): %v, want not-exist naming the path", err)
	}
}

func TestPCMSource(t *testing.T) {
	pcm := make([]int16, 2*FrameSamples+10)
	for i := range pcm {
		pcm[i] = int16(i + 1)
	}
	tests := []struct {
		name   string
		pcm    []int16
		frames int
	}{
		{"two frames and a bit", pcm, 3},
		{"one whole frame", pcm[:FrameSamples], 1},
		{"one sample", pcm[:1], 1},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := NewPCMSource(tt.pcm)
			got, frames := readAll(src, FrameSamples, 1e6)
			if frames != tt.frames {
				t.Fatalf("%d frames, want %d", frames, tt.frames)
			}
			if !slices.Equal(got[:len(tt.pcm)], tt.pcm) {
				t.Error("samples differ from the input")
			}
			if i := slices.IndexFunc(got[len(tt.pcm):], func(v int16) bool { return v != 0 }); i >= 0 {
				t.Errorf("padding sample %d is not 0", i)
			}
			frame := []int16{7}
			if src.Read(frame) {
				t.Error("Read after the end returned true")
			}
		})
	}
	// Two sources on one slice play independently.
	a, b := NewPCMSource(pcm), NewPCMSource(pcm)
	fa, fb := make([]int16, 5), make([]int16, 5)
	a.Read(fa)
	a.Read(fa)
	b.Read(fb)
	if fa[0] != 6 || fb[0] != 1 {
		t.Errorf("shared slice: a at %d, b at %d; want 6 and 1", fa[0], fb[0])
	}
}

// TestReadWAVSox reads files sox wrote: a 1 kHz sine as 16-bit PCM, and the
// same converted to mu-law and A-law. sox's G.711 encoder agrees with ours
// byte for byte (g711_sox_test.go), so the G.711 files must decode to
// exactly our encode-decode of the PCM file.
func TestReadWAVSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		// -D: no dither, so each sample is converted on its own.
		if out, err := exec.Command(sox, append([]string{"-D"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("sox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	pcmFile := filepath.Join(dir, "sine.wav")
	run("-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed", pcmFile, "synth", "0.5", "sine", "1000", "vol", "0.5")
	run(pcmFile, "-e", "mu-law", filepath.Join(dir, "ulaw.wav"))
	run(pcmFile, "-e", "a-law", filepath.Join(dir, "alaw.wav"))
	run(pcmFile, "-t", "raw", filepath.Join(dir, "sine.s16"))

	pcm, err := LoadWAV(pcmFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != 4000 {
		t.Fatalf("PCM file: %d samples, want 4000", len(pcm))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "sine.s16"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(le16(pcm...), raw) {
		t.Error("PCM samples differ from sox's raw export")
	}
	// vol 0.5: a peak of half full scale, 3.17 - 6.02 dBm0.
	if l := levelAt(pcm, 1000); math.Abs(l-(3.17-6.02)) > 0.1 {
		t.Errorf("sine at %.2f dBm0", l)
	}
	for _, law := range []struct {
		file string
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{"ulaw.wav", EncodeUlaw, DecodeUlaw},
		{"alaw.wav", EncodeAlaw, DecodeAlaw},
	} {
		got, err := LoadWAV(filepath.Join(dir, law.file))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(pcm) {
			t.Fatalf("%s: %d samples, want %d", law.file, len(got), len(pcm))
		}
		for i, x := range pcm {
			if want := law.dec(law.enc(x)); got[i] != want {
				t.Fatalf("%s: sample %d is %d, want %d (PCM %d through G.711)", law.file, i, got[i], want, x)
			}
		}
	}
}

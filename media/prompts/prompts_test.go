package prompts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// want is every prompt the gateway ships.
var want = []string{
	"cannot_complete", "consent", "goodbye", "not_recorded", "voicemail_greeting",
	"whisper", "whisper_buyer", "whisper_lender", "whisper_seller",
}

func TestNames(t *testing.T) {
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, n := range []string{Consent, Whisper, VoicemailGreeting, CannotComplete, NotRecorded, Goodbye} {
		if !slices.Contains(Names(), n) {
			t.Errorf("constant %q is not a shipped prompt", n)
		}
	}
}

func TestWhisperFor(t *testing.T) {
	tests := []struct{ role, want string }{
		{"buyer", "whisper_buyer"},
		{"Buyer", "whisper_buyer"},
		{"seller", "whisper_seller"},
		{"listing", "whisper_seller"},
		{" LISTING ", "whisper_seller"},
		{"lender", "whisper_lender"},
		{"", "whisper"},
		{"renter", "whisper"},
		{"buyers", "whisper"},
	}
	for _, tt := range tests {
		got := WhisperFor(tt.role)
		if got != tt.want {
			t.Errorf("WhisperFor(%q) = %q, want %q", tt.role, got, tt.want)
		}
		if _, err := Bytes(got); err != nil {
			t.Errorf("WhisperFor(%q) = %q, which has no file: %v", tt.role, got, err)
		}
	}
}

func TestBytesUnknown(t *testing.T) {
	for _, name := range []string{"", "hold_music", "consent.wav", "../prompts/consent", ".", "Consent", "whisper/"} {
		b, err := Bytes(name)
		if !errors.Is(err, ErrUnknownPrompt) || b != nil {
			t.Errorf("Bytes(%q) = %d bytes, %v; want ErrUnknownPrompt", name, len(b), err)
		}
	}
}

func TestBytesIsACopy(t *testing.T) {
	a, err := Bytes(Goodbye)
	if err != nil {
		t.Fatal(err)
	}
	a[0] = 'X'
	b, _ := Bytes(Goodbye)
	if string(b[:4]) != "RIFF" {
		t.Errorf("changing the bytes of one Bytes call changed the next: %q", b[:4])
	}
}

// wav is what the test reads from a file's chunks.
type wav struct {
	format, channels uint16
	rate             uint32
	bits             uint16
	data             []byte
}

func parseWAV(b []byte) (wav, error) {
	var w wav
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, errors.New("no RIFF/WAVE header")
	}
	if n := binary.LittleEndian.Uint32(b[4:8]); int(n) != len(b)-8 {
		return w, errors.New("RIFF size does not match the file")
	}
	sawFmt := false
	for p := 12; p+8 <= len(b); {
		id, n := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if n > len(body) {
			return w, errors.New("chunk " + id + " runs past the end")
		}
		body = body[:n]
		switch id {
		case "fmt ":
			if n < 16 {
				return w, errors.New("short fmt chunk")
			}
			w.format = binary.LittleEndian.Uint16(body[0:2])
			w.channels = binary.LittleEndian.Uint16(body[2:4])
			w.rate = binary.LittleEndian.Uint32(body[4:8])
			w.bits = binary.LittleEndian.Uint16(body[14:16])
			sawFmt = true
		case "data":
			if !sawFmt {
				return w, errors.New("data before fmt")
			}
			w.data = body
			return w, nil
		}
		p += 8 + n + n%2
	}
	return w, errors.New("no data chunk")
}

// ulaw decodes one G.711 u-law byte to a linear sample (-32124..32124).
func ulaw(c byte) int {
	c = ^c
	t := (int(c&0x0f)<<3 + 0x84) << ((c & 0x70) >> 4)
	if c&0x80 != 0 {
		return 0x84 - t
	}
	return t - 0x84
}

func TestFiles(t *testing.T) {
	for _, name := range Names() {
		b, err := Bytes(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		w, err := parseWAV(b)
		if err != nil {
			t.Errorf("%s.wav: %v", name, err)
			continue
		}
		if w.format != 7 || w.channels != 1 || w.rate != 8000 || w.bits != 8 {
			t.Errorf("%s.wav: format %d, %d channels, %d Hz, %d bits; want u-law (7), mono, 8000 Hz, 8 bits", name, w.format, w.channels, w.rate, w.bits)
			continue
		}
		sec := float64(len(w.data)) / 8000
		if sec < 0.5 || sec > 10 {
			t.Errorf("%s.wav: %.2f s of audio, want 0.5 to 10", name, sec)
		}
		// 100 ms of silence at both ends, speech right after: no clipped
		// first syllable, no dead air.
		lead, trail := w.data[:800], w.data[len(w.data)-800:]
		for i, c := range append(slices.Clone(lead), trail...) {
			if ulaw(c) != 0 {
				t.Errorf("%s.wav: sample %d of the first and last 100 ms is %d, want silence", name, i, ulaw(c))
				break
			}
		}
		if peak(w.data[800:1600]) == 0 {
			t.Errorf("%s.wav: nothing to hear in the 100 ms after the leading silence", name)
		}
		// Normalized to about -3 dBFS: loud enough, not clipping.
		db := 20 * math.Log10(float64(peak(w.data))/32768)
		if db < -4 || db > -2.5 {
			t.Errorf("%s.wav: peak %.2f dBFS, want about -3", name, db)
		}
	}
}

func peak(data []byte) int {
	m := 0
	for _, c := range data {
		m = max(m, abs(ulaw(c)))
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestEmbeddedMatchesDisk catches a file regenerated but not rebuilt, and
// a file on disk that the embed pattern misses.
func TestEmbeddedMatchesDisk(t *testing.T) {
	disk, err := filepath.Glob("*.wav")
	if err != nil {
		t.Fatal(err)
	}
	if len(disk) != len(Names()) {
		t.Errorf("%d WAV files on disk, %d embedded", len(disk), len(Names()))
	}
	for _, name := range Names() {
		onDisk, err := os.ReadFile(name + ".wav")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		embedded, _ := Bytes(name)
		if !bytes.Equal(embedded, onDisk) {
			t.Errorf("%s.wav: the embedded file differs from the one on disk", name)
		}
	}
}

// TestScriptAndReadme checks that scripts/make-prompts.sh makes exactly the
// shipped prompts and that README.md lists each with the text it is made
// from.
func TestScriptAndReadme(t *testing.T) {
	script, err := os.ReadFile("../../scripts/make-prompts.sh")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s*"([a-z_]+)\|([^"]+)"$`).FindAllSubmatch(script, -1) {
		name, text := string(m[1]), string(m[2])
		names = append(names, name)
		if !bytes.Contains(readme, []byte("`"+name+".wav`")) || !bytes.Contains(readme, []byte(text)) {
			t.Errorf("README.md does not list %s.wav with %q", name, text)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, Names()) {
		t.Errorf("the script makes %q, the package ships %q", names, Names())
	}
}

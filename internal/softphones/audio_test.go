package softphones

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/teamline/teamline/internal/sipptest"
	"github.com/teamline/teamline/media"
)

// The tones each party sends, so that a channel of a recording, or what a
// phone received, tells whose audio it is. All are multiples of 20 Hz: a
// 50 ms block (the unit toneShare measures) holds whole periods of each.
const (
	carrierTone  = 1000.0 // the SIPp carrier calling in
	trunkTone    = 1400.0 // the SIPp carrier answering an outbound call
	baresipTone  = 440.0  // baresip's ausine source
	linphoneTone = 600.0  // the WAV file linphonec plays as its microphone
)

// sine is ms milliseconds of a sine of freq Hz at 8 kHz, at half scale.
func sine(freq float64, ms int) []int16 {
	pcm := make([]int16, ms*8)
	for i := range pcm {
		pcm[i] = int16(16000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

// writeTonePcap writes ms milliseconds of a freq Hz tone as PCMU RTP in a
// capture SIPp's play_pcap_audio replays, and returns its path.
func writeTonePcap(t *testing.T, name string, freq float64, ms int) string {
	t.Helper()
	pcm := sine(freq, ms)
	var payloads [][]byte
	for len(pcm) >= 160 {
		p := make([]byte, 160)
		for i, s := range pcm[:160] {
			p[i] = media.EncodeUlaw(s)
		}
		payloads = append(payloads, p)
		pcm = pcm[160:]
	}
	path := t.TempDir() + "/" + name
	sipptest.WriteRTPPcap(t, path, 0, 0x50f7f0e5, payloads)
	return path
}

// writeToneWAV writes ms milliseconds of a freq Hz tone as an 8 kHz mono
// 16-bit PCM WAV file.
func writeToneWAV(t *testing.T, path string, freq float64, ms int) {
	t.Helper()
	pcm := sine(freq, ms)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*len(pcm)))
	b.WriteString("WAVEfmt ")
	// PCM, mono, 8000 Hz, 16000 bytes/s, 2 bytes a frame, 16 bits.
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*len(pcm)))
	_ = binary.Write(&b, le, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wav is a decoded 16-bit PCM WAV file: one slice of samples a channel.
type wav struct {
	rate     int
	channels [][]int16
}

// parseWAV reads a RIFF/WAVE file of 16-bit PCM, any rate and channel
// count. A data chunk whose size field is 0 or too large (a file still
// being written) is read to the end of the file.
func parseWAV(b []byte) (wav, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return wav{}, errors.New("not a RIFF/WAVE file")
	}
	var nch, bits int
	var w wav
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		if size > len(body) || (id == "data" && size == 0) {
			size = len(body)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return wav{}, errors.New("short fmt chunk")
			}
			if f := le.Uint16(body[0:]); f != 1 && f != 0xfffe {
				return wav{}, fmt.Errorf("format %d, want PCM", f)
			}
			nch, w.rate, bits = int(le.Uint16(body[2:])), int(le.Uint32(body[4:])), int(le.Uint16(body[14:]))
		case "data":
			if nch == 0 || bits != 16 {
				return wav{}, fmt.Errorf("data before fmt, or %d bits a sample (want 16)", bits)
			}
			frames := len(body) / (2 * nch)
			w.channels = make([][]int16, nch)
			for c := range w.channels {
				w.channels[c] = make([]int16, frames)
				for i := range frames {
					w.channels[c][i] = int16(le.Uint16(body[2*(i*nch+c):]))
				}
			}
			return w, nil
		}
		p += 8 + size + size%2
	}
	return wav{}, errors.New("no data chunk")
}

// readWAV reads and parses a WAV file, failing the test unless it has
// channels channels.
func readWAV(t *testing.T, path string, channels int) wav {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := parseWAV(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(w.channels) != channels {
		t.Fatalf("%s: %d channels, want %d", path, len(w.channels), channels)
	}
	return w
}

// activeFloor is the mean power (of 16-bit samples) below which a block
// counts as silence: about -60 dBFS.
const activeFloor = 1.0e-6 * 32768 * 32768

// toneShare measures a signal in 50 ms blocks: how many blocks are not
// silent, and, over those, the share of their power at freq Hz (Goertzel;
// 1 for a clean tone, near 0 for another tone or for noise).
func toneShare(pcm []int16, rate int, freq float64) (active int, share float64) {
	n := rate / 20
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var sum float64
	for start := 0; start+n <= len(pcm); start += n {
		var s1, s2, energy float64
		for _, v := range pcm[start : start+n] {
			x := float64(v)
			energy += x * x
			s1, s2 = x+coeff*s1-s2, s1
		}
		if energy/float64(n) < activeFloor {
			continue
		}
		power := s1*s1 + s2*s2 - coeff*s1*s2
		active++
		sum += 2 * power / (float64(n) * energy)
	}
	if active == 0 {
		return 0, 0
	}
	return active, sum / float64(active)
}

// minActiveBlocks is how much of a signal must be sound (50 ms blocks) for
// it to count as audio: half a second, where each call carries seconds.
const minActiveBlocks = 10

// assertTone fails the test unless pcm holds at least half a second of
// sound that is mostly the freq Hz tone of who.
func assertTone(t *testing.T, what string, pcm []int16, rate int, freq float64, who string) {
	t.Helper()
	active, share := toneShare(pcm, rate, freq)
	blocks := len(pcm) / (rate / 20)
	if active < minActiveBlocks || share < 0.5 {
		t.Errorf("%s: want %s's %.0f Hz tone; got %d of %d 50 ms blocks with sound, %.0f%% of their power at %.0f Hz",
			what, who, freq, active, blocks, 100*share, freq)
		return
	}
	t.Logf("%s: %s's %.0f Hz tone in %d of %d 50 ms blocks, %.0f%% of their power", what, who, freq, active, blocks, 100*share)
}

package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBadWAV is returned (wrapped, with what was found) for a file that is
// not a RIFF/WAVE file the gateway can play: another rate, more than one
// channel, a coding other than 16-bit PCM or 8-bit G.711, a missing or
// misplaced chunk, or a truncated header.
var ErrBadWAV = errors.New("media: unsupported or malformed WAV")

// MaxPromptSamples caps what ReadWAV returns: 10 minutes at SampleRate
// (9.6 MB of samples). A prompt longer than that is a mistake, and a cap
// keeps a bad upload from taking the gateway's memory.
const MaxPromptSamples = 10 * 60 * SampleRate

// WAVE format tags (the wFormatTag of the fmt chunk, as registered in
// Microsoft's mmreg.h).
const (
	wavePCM        = 0x0001
	waveALaw       = 0x0006
	waveMuLaw      = 0x0007
	waveExtensible = 0xFFFE
)

// maxFmtSize bounds how much of a fmt chunk is kept: the largest fmt the
// gateway understands is WAVE_FORMAT_EXTENSIBLE's 40 bytes; anything a
// writer appends beyond is skipped, not buffered.
const maxFmtSize = 40

// ReadWAV reads a mono 8 kHz RIFF/WAVE file, coded as 16-bit little-endian
// PCM, A-law or mu-law (directly or through WAVE_FORMAT_EXTENSIBLE), and
// returns its audio as 16-bit linear samples.
//
// Chunks other than fmt and data (LIST, fact, cue, ...) are skipped, and
// nothing after the data chunk is read. A data chunk that declares more
// bytes than there are (a recording still being written, or a streaming
// writer's 0xFFFFFFFF) yields the samples that are there. Format problems
// wrap ErrBadWAV; read errors of r are returned wrapped, not as ErrBadWAV.
func ReadWAV(r io.Reader) ([]int16, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, headerErr("RIFF header", err)
	}
	// The RIFF size is not checked: writers that stream leave it 0 or
	// 0xFFFFFFFF, and the chunks themselves say where things are.
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file (starts %q)", ErrBadWAV, hdr[:4])
	}
	var f *wavFormat
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%w: no data chunk", ErrBadWAV)
			}
			return nil, headerErr("chunk header", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			var err error
			if f, err = readFmt(br, size); err != nil {
				return nil, err
			}
		case "data":
			if f == nil {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrBadWAV)
			}
			return readData(br, size, f)
		default:
			if err := skip(br, size); err != nil {
				return nil, headerErr(fmt.Sprintf("%q chunk", id), err)
			}
		}
	}
}

// LoadWAV reads the WAV file at path with ReadWAV.
func LoadWAV(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError: names the path already
	}
	defer f.Close() // read only: Close has nothing to report that matters
	pcm, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

// wavFormat is what ReadWAV keeps of a fmt chunk: the sample coding, after
// WAVE_FORMAT_EXTENSIBLE is resolved to its subformat.
type wavFormat struct {
	tag uint16 // wavePCM, waveALaw or waveMuLaw
}

// readFmt reads a fmt chunk of size bytes (plus its pad byte) and checks
// that it describes audio ReadWAV can decode.
func readFmt(r *bufio.Reader, size int64) (*wavFormat, error) {
	if size < 16 {
		return nil, fmt.Errorf("%w: fmt chunk of %d bytes, need at least 16", ErrBadWAV, size)
	}
	var b [maxFmtSize]byte
	n := min(size, maxFmtSize)
	if _, err := io.ReadFull(r, b[:n]); err != nil {
		return nil, headerErr("fmt chunk", err)
	}
	if err := skip(r, size-n); err != nil { // the rest, and the pad byte if size is odd
		return nil, headerErr("fmt chunk", err)
	}
	tag := binary.LittleEndian.Uint16(b[0:])
	channels := binary.LittleEndian.Uint16(b[2:])
	rate := binary.LittleEndian.Uint32(b[4:])
	blockAlign := binary.LittleEndian.Uint16(b[12:])
	bits := binary.LittleEndian.Uint16(b[14:])
	if tag == waveExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize (2), valid bits (2), channel mask
		// (4), then the subformat GUID, whose first two bytes are the
		// format tag the file would have had without the extension.
		if size < maxFmtSize {
			return nil, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, need 40", ErrBadWAV, size)
		}
		tag = binary.LittleEndian.Uint16(b[24:])
	}
	var wantBits uint16
	switch tag {
	case wavePCM:
		wantBits = 16
	case waveALaw, waveMuLaw:
		wantBits = 8
	default:
		return nil, fmt.Errorf("%w: format %#04x, need PCM (1), A-law (6) or mu-law (7)", ErrBadWAV, tag)
	}
	if channels != 1 {
		return nil, fmt.Errorf("%w: %d channels, need mono", ErrBadWAV, channels)
	}
	if rate != SampleRate {
		return nil, fmt.Errorf("%w: %d Hz, need %d", ErrBadWAV, rate, SampleRate)
	}
	if bits != wantBits {
		return nil, fmt.Errorf("%w: %d-bit %s, need %d-bit", ErrBadWAV, bits, formatName(tag), wantBits)
	}
	// A block that is not one sample would put the samples elsewhere than
	// where the decoder looks.
	if blockAlign != bits/8 {
		return nil, fmt.Errorf("%w: block align %d for mono %d-bit", ErrBadWAV, blockAlign, bits)
	}
	return &wavFormat{tag: tag}, nil
}

func formatName(tag uint16) string {
	switch tag {
	case waveALaw:
		return "A-law"
	case waveMuLaw:
		return "mu-law"
	}
	return "PCM"
}

// readData decodes the data chunk. It reads in small pieces and appends, so
// memory grows with what is really in the file, never with the declared
// size; reading stops at MaxPromptSamples+1 to tell a too-long file.
func readData(r io.Reader, size int64, f *wavFormat) ([]int16, error) {
	width := int64(1)
	if f.tag == wavePCM {
		width = 2
	}
	lr := io.LimitReader(r, min(size, (MaxPromptSamples+1)*width))
	pcm := []int16{}
	var buf [4096]byte
	carry := 0 // a 16-bit sample split across two reads: its first byte is buf[0]
	for {
		n, err := lr.Read(buf[carry:])
		n += carry
		switch f.tag {
		case wavePCM:
			even := n &^ 1
			for i := 0; i < even; i += 2 {
				pcm = append(pcm, int16(binary.LittleEndian.Uint16(buf[i:])))
			}
			carry = n - even
			if carry == 1 {
				buf[0] = buf[even]
			}
		case waveALaw:
			for _, c := range buf[:n] {
				pcm = append(pcm, DecodeAlaw(c))
			}
		case waveMuLaw:
			for _, c := range buf[:n] {
				pcm = append(pcm, DecodeUlaw(c))
			}
		}
		if len(pcm) > MaxPromptSamples {
			return nil, fmt.Errorf("%w: longer than %d minutes", ErrBadWAV, MaxPromptSamples/SampleRate/60)
		}
		if err == io.EOF {
			// A last odd byte of 16-bit audio is half a sample of a file
			// cut short: dropped.
			return pcm, nil
		}
		if err != nil {
			return nil, fmt.Errorf("media: reading WAV data: %w", err)
		}
	}
}

// skip discards a chunk body of size bytes and, for an odd size, the pad
// byte RIFF puts after it so that chunks start on even offsets.
func skip(r io.Reader, size int64) error {
	size += size & 1
	n, err := io.CopyN(io.Discard, r, size)
	if err == io.EOF && n < size {
		return io.ErrUnexpectedEOF
	}
	return err
}

// headerErr turns running out of input inside the headers into ErrBadWAV
// and leaves the reader's own errors as they are.
func headerErr(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated %s", ErrBadWAV, what)
	}
	return fmt.Errorf("media: reading WAV %s: %w", what, err)
}

// PCMSource plays samples held in memory, such as a prompt from LoadWAV.
// It only reads pcm, so any number of PCMSources may share one slice.
type PCMSource struct {
	pcm []int16
	pos int
}

// NewPCMSource returns a Source that plays pcm once from the start.
func NewPCMSource(pcm []int16) *PCMSource {
	return &PCMSource{pcm: pcm}
}

// Read fills frame with the next samples, the last partial frame padded
// with silence, and returns false once every sample has been played.
func (s *PCMSource) Read(frame []int16) bool {
	if s.pos >= len(s.pcm) {
		return false
	}
	n := copy(frame, s.pcm[s.pos:])
	clear(frame[n:])
	s.pos += n
	return true
}

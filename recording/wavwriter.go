package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SampleRate is the rate of every recording: G.711's 8 kHz.
const SampleRate = 8000

// wavHeaderSize is the size of the canonical RIFF/WAVE header of a PCM file:
// the RIFF chunk header, a 16-byte fmt chunk and the data chunk header.
const wavHeaderSize = 44

// maxWAVData is the largest data chunk a RIFF file can describe (its sizes
// are 32-bit): about 37 hours of stereo audio at 8 kHz.
const maxWAVData = 0xFFFFFFFF - (wavHeaderSize - 8)

// Errors of the WAV writer.
var (
	// ErrWAVFull: the data chunk would outgrow the 4 GiB a RIFF file can
	// describe. The file stays valid up to what was written before.
	ErrWAVFull = errors.New("recording: wav file full")
	// ErrWAVClosed: the writer was used after Close.
	ErrWAVClosed = errors.New("recording: wav writer closed")
	// ErrBadChannels: a recording has 1 (mono) or 2 (stereo) channels.
	ErrBadChannels = errors.New("recording: channels must be 1 or 2")
)

// WAVFile is what WAVWriter writes to: an *os.File in the gateway.
type WAVFile interface {
	io.WriterAt
	io.Closer
}

// syncer is implemented by *os.File; Close syncs the finished file to disk.
type syncer interface{ Sync() error }

// putWAVSizes sets the RIFF and data chunk sizes of a canonical header to
// cover data bytes of PCM (data <= maxWAVData).
func putWAVSizes(hdr []byte, data int64) {
	binary.LittleEndian.PutUint32(hdr[4:8], uint32(wavHeaderSize-8+data))
	binary.LittleEndian.PutUint32(hdr[40:44], uint32(data))
}

// WAVWriter writes 16-bit linear PCM at 8000 Hz as a WAV file while the call
// goes on. Data is appended in order; Flush rewrites the RIFF and data sizes
// of the header, so a file whose writer never got to Close (the gateway
// crashed) is a valid WAV file holding everything up to the last Flush.
// Close writes the final header.
//
// A WAVWriter is not safe for concurrent use. Its first error is sticky:
// later writes return it and write nothing, so the file stays valid up to
// the last successful flush.
type WAVWriter struct {
	f        WAVFile
	channels int
	data     int64 // bytes of PCM written after the header
	hdr      [wavHeaderSize]byte
	err      error
	closed   bool
}

// NewWAVWriter writes the header of an empty WAV file with the given number
// of channels (1 or 2) at the start of f and returns a writer that appends
// samples after it.
func NewWAVWriter(f WAVFile, channels int) (*WAVWriter, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: %d", ErrBadChannels, channels)
	}
	w := &WAVWriter{f: f, channels: channels}
	h := w.hdr[:]
	copy(h[0:4], "RIFF")
	copy(h[8:12], "WAVE")
	copy(h[12:16], "fmt ")
	binary.LittleEndian.PutUint32(h[16:20], 16) // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:22], 1)  // WAVE_FORMAT_PCM
	binary.LittleEndian.PutUint16(h[22:24], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:28], SampleRate)
	binary.LittleEndian.PutUint32(h[28:32], uint32(SampleRate*2*channels)) // byte rate
	binary.LittleEndian.PutUint16(h[32:34], uint16(2*channels))            // block align
	binary.LittleEndian.PutUint16(h[34:36], 16)                            // bits per sample
	copy(h[36:40], "data")
	if err := w.writeHeader(); err != nil {
		return nil, err
	}
	return w, nil
}

// Channels is 1 or 2.
func (w *WAVWriter) Channels() int { return w.channels }

// DataBytes is the number of PCM bytes written so far.
func (w *WAVWriter) DataBytes() int64 { return w.data }

// Size is the size of the file: header and data.
func (w *WAVWriter) Size() int64 { return wavHeaderSize + w.data }

// Frames is the number of sample frames (one sample of every channel)
// written so far.
func (w *WAVWriter) Frames() int64 { return w.data / int64(2*w.channels) }

// WriteFrames appends interleaved little-endian 16-bit PCM (for stereo:
// left, right, left, ...). len(b) must be a whole number of frames. The
// header is not updated until Flush or Close.
func (w *WAVWriter) WriteFrames(b []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWAVClosed
	}
	if len(b)%(2*w.channels) != 0 {
		return fmt.Errorf("recording: %d bytes is not a whole number of %d-channel frames", len(b), w.channels)
	}
	if w.data+int64(len(b)) > maxWAVData {
		w.err = ErrWAVFull
		return w.err
	}
	n, err := w.f.WriteAt(b, wavHeaderSize+w.data)
	if err != nil {
		// Keep what was written in whole frames; the rest is cut off by
		// the header's data size.
		w.data += int64(n - n%(2*w.channels))
		w.err = fmt.Errorf("recording: writing wav data: %w", err)
		return w.err
	}
	w.data += int64(len(b))
	return nil
}

// Flush rewrites the header's sizes to cover everything written so far.
func (w *WAVWriter) Flush() error {
	if w.closed {
		return ErrWAVClosed
	}
	return w.writeHeader()
}

// writeHeader writes the header with the current sizes. It is tried even
// after a data write failed, so the header covers the data that made it.
func (w *WAVWriter) writeHeader() error {
	putWAVSizes(w.hdr[:], w.data)
	if _, err := w.f.WriteAt(w.hdr[:], 0); err != nil {
		err = fmt.Errorf("recording: writing wav header: %w", err)
		if w.err == nil {
			w.err = err
		}
		return err
	}
	return w.err
}

// Close writes the final header, syncs the file to disk when it can, and
// closes it. The error of an earlier write is returned too. Closing twice
// returns ErrWAVClosed.
func (w *WAVWriter) Close() error {
	if w.closed {
		return ErrWAVClosed
	}
	err := w.writeHeader()
	w.closed = true
	if s, ok := w.f.(syncer); ok {
		if serr := s.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("recording: syncing wav file: %w", serr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("recording: closing wav file: %w", cerr)
	}
	return err
}

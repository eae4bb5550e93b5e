package recording_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/teamline/teamline/recording"
)

// memFile is a WAVFile in memory whose data writes can be made to fail
// part way.
type memFile struct {
	b      []byte
	limit  int // writes past this offset fail; 0 = no limit
	closed bool
}

var errDiskFull = errors.New("no space left on device")

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	end := int(off) + len(p)
	var err error
	if f.limit > 0 && end > f.limit {
		p, err = p[:max(f.limit-int(off), 0)], errDiskFull
		end = int(off) + len(p)
	}
	if end > len(f.b) {
		f.b = append(f.b, make([]byte, end-len(f.b))...)
	}
	copy(f.b[off:], p)
	return len(p), err
}

func (f *memFile) Close() error { f.closed = true; return nil }

// frameBytes is n stereo frames of the value v.
func frameBytes(n, channels int, v int16) []byte {
	b := make([]byte, 2*n*channels)
	for i := 0; i < len(b); i += 2 {
		binary.LittleEndian.PutUint16(b[i:], uint16(v))
	}
	return b
}

func TestWAVWriter(t *testing.T) {
	tests := []struct {
		name       string
		channels   int
		writes     [][]byte
		limit      int
		wantErr    error // of the last write
		wantFrames int   // in the file after Close
	}{
		{name: "mono", channels: 1, writes: [][]byte{frameBytes(100, 1, 1), frameBytes(60, 1, 2)}, wantFrames: 160},
		{name: "stereo", channels: 2, writes: [][]byte{frameBytes(100, 2, 1), frameBytes(60, 2, 2)}, wantFrames: 160},
		{name: "half a frame is refused", channels: 2, writes: [][]byte{frameBytes(10, 2, 1), {1, 2}}, wantErr: errAny, wantFrames: 10},
		// The disk fills 10 bytes into the second write: the file keeps
		// the 2 whole stereo frames that made it, and later writes fail.
		{name: "disk full", channels: 2, limit: 44 + 400 + 10, writes: [][]byte{frameBytes(100, 2, 1), frameBytes(100, 2, 2), frameBytes(1, 2, 3)}, wantErr: errDiskFull, wantFrames: 102},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &memFile{limit: tt.limit}
			w, err := recording.NewWAVWriter(f, tt.channels)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, b := range tt.writes {
				last = w.WriteFrames(b)
			}
			if (tt.wantErr == errAny && last == nil) || (tt.wantErr != errAny && !errors.Is(last, tt.wantErr)) {
				t.Errorf("last write: %v, want %v", last, tt.wantErr)
			}
			_ = w.Close()
			if !f.closed {
				t.Error("file not closed")
			}
			wv, err := parseWAV(f.b[:w.Size()])
			if err != nil {
				t.Fatalf("the file does not parse: %v", err)
			}
			if wv.channels != tt.channels || wv.rate != 8000 || wv.frames() != tt.wantFrames || int(w.Frames()) != tt.wantFrames {
				t.Errorf("%d channels at %d Hz, %d frames (writer says %d); want %d at 8000, %d frames",
					wv.channels, wv.rate, wv.frames(), w.Frames(), tt.channels, tt.wantFrames)
			}
			if err := w.Close(); !errors.Is(err, recording.ErrWAVClosed) {
				t.Errorf("second Close: %v", err)
			}
			if err := w.WriteFrames(frameBytes(1, tt.channels, 1)); err == nil {
				t.Error("write after Close succeeded")
			}
		})
	}
	if _, err := recording.NewWAVWriter(&memFile{}, 3); !errors.Is(err, recording.ErrBadChannels) {
		t.Errorf("3 channels: %v, want ErrBadChannels", err)
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")

// TestWAVWriterFlush: after Flush the header covers everything written.
func TestWAVWriterFlush(t *testing.T) {
	f := &memFile{}
	w, err := recording.NewWAVWriter(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.WriteFrames(frameBytes(160, 2, int16(i))); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		wv, err := parseWAV(f.b)
		if err != nil || wv.frames() != 160*(i+1) {
			t.Fatalf("after flush %d: %v, want %d frames", i, err, 160*(i+1))
		}
	}
}

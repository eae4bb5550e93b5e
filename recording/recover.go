package recording

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// abandonedAfter is how long an unfinished recording's file must have gone
// unwritten before the sweep finishes it: a live session flushes several
// times a second, so a file this old belongs to a gateway that died.
const abandonedAfter = time.Minute

// recoverAbandoned finishes recordings a crashed gateway left incomplete:
// their file keeps the audio up to the last flush, but the row has no size,
// duration or hash, so the quota did not count it and an unsaved one would
// never be deleted. The file's header is made to cover every whole frame
// on disk, and the row is finished. Files not in this service's directory
// (another gateway's, on another disk) and files still being written are
// left alone.
func (s *Service) recoverAbandoned(ctx context.Context) error {
	now := s.clock()
	for after := int64(0); ; {
		batch, err := s.st.ListRecordings(ctx, Filter{Incomplete: true, AfterID: after, Limit: sweepBatch})
		if err != nil {
			return fmt.Errorf("recording: listing unfinished recordings: %w", err)
		}
		for _, r := range batch {
			after = r.ID
			if s.session(r.ID) != nil {
				continue
			}
			if err := s.finishAbandoned(ctx, r, now); err != nil {
				s.log.Error("recording: finishing an abandoned recording failed", "recording", r.ID, "err", err)
			}
		}
		if len(batch) < sweepBatch {
			return nil
		}
	}
}

// finishAbandoned repairs and finishes r if its file is here and has gone
// unwritten for abandonedAfter; otherwise it leaves r alone.
func (s *Service) finishAbandoned(ctx context.Context, r Recording, now time.Time) error {
	p, err := localPath(r.Path)
	if err != nil {
		return nil
	}
	fi, err := s.root.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Sub(fi.ModTime()) < abandonedAfter {
		return nil
	}
	f, err := s.root.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var hdr [wavHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		f.Close()
		return fmt.Errorf("reading the header of %s: %w", r.Path, err)
	}
	channels := int64(binary.LittleEndian.Uint16(hdr[22:24]))
	if string(hdr[0:4]) != "RIFF" || (channels != 1 && channels != 2) {
		f.Close()
		return fmt.Errorf("%s is not a recording this gateway wrote", r.Path)
	}
	frame := 2 * channels
	data := (fi.Size() - wavHeaderSize) / frame * frame
	data = max(0, min(data, maxWAVData))
	putWAVSizes(hdr[:], data)
	_, werr := f.WriteAt(hdr[:], 0)
	if werr == nil {
		werr = f.Truncate(wavHeaderSize + data)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("repairing %s: %w", r.Path, werr)
	}
	sum, err := s.hashFile(r.Path)
	if err != nil {
		return err
	}
	size := wavHeaderSize + data
	durMS := data / frame * 1000 / SampleRate
	if err := s.st.FinishRecording(ctx, r.ID, durMS, size, sum); err != nil {
		return err
	}
	s.addUsed(size)
	s.log.Warn("recording: finished a recording its gateway left unfinished", "recording", r.ID, "call_id", r.CallID, "duration_ms", durMS)
	return nil
}

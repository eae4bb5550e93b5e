package recording

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Timing of a session, in samples (frames) at SampleRate.
const (
	// jitterFrames is how far behind now the flusher stays, so packets
	// delayed by up to 250 ms still land in their place.
	jitterFrames = SampleRate / 4
	// reanchorFrames: a packet whose timestamp puts it more than a second
	// away from its arrival re-anchors the channel at its arrival.
	reanchorFrames = SampleRate
	// aheadFrames bounds how far ahead of now a channel may run; samples
	// beyond are dropped.
	aheadFrames = 2 * SampleRate
	// ringFrames is the buffer of a session: the positions from the
	// first one not yet written to the file on. It covers aheadFrames
	// plus the jitter allowance plus a flusher that runs late by half a
	// second. A stereo session holds 96 KB.
	ringFrames = 3 * SampleRate
	// chunkFrames is the most one round of a flush copies out of the
	// ring while holding the lock.
	chunkFrames = SampleRate / 2
)

// frameDuration is the duration of one sample.
const frameDuration = time.Second / SampleRate

// ErrSessionClosed: Flush on a session that has been closed.
var ErrSessionClosed = errors.New("recording: session closed")

// channel is the timeline state of one side of the call.
type channel struct {
	anchored  bool // a packet has arrived
	ssrc      uint32
	ts0       uint32 // RTP timestamp of the anchor
	pos0      int64  // timeline position of ts0
	end       int64  // one past the furthest position a sample was put at
	late      uint64 // samples dropped because their position was written already
	ahead     uint64 // samples dropped because they ran too far ahead
	reanchors uint64
}

// Session is one recording in progress. The RTP relay hands it the audio of
// both sides through Audio; the Service's flusher writes it to the file
// with Flush; Close finishes the file and its index entry.
//
// Both channels are laid on one timeline that starts when the session is
// created: output frame n is at start + n/8000 s. Where a side sent nothing
// (loss, hold, the other side talking) its channel is silent, so the two
// stay in sync however the packets came.
type Session struct {
	svc      *Service
	log      *slog.Logger
	clock    func() time.Time
	start    time.Time
	channels int

	// flushMu serialises the writers of the file: Flush and Close. It is
	// taken before mu, and file I/O is done holding flushMu only.
	flushMu   sync.Mutex
	w         *WAVWriter
	out       []byte // encoded frames on their way to the file
	flushErr  error  // first error writing the file, logged once
	fileDone  bool   // the file is finished and hashed
	finished  bool   // the store has the final figures
	accounted int64  // bytes of the file counted in the service's usage

	// mu guards the timeline; Audio holds it only to copy samples.
	mu           sync.Mutex
	closing      bool
	ch           [2]channel
	ring         []int16 // ringFrames interleaved frames; position p at (p % ringFrames)
	written      int64   // frames written to the file (the first position in ring)
	lateReported uint64  // late samples already added to the metric

	recMu sync.Mutex
	rec   Recording
}

func newSession(svc *Service, rec Recording, w *WAVWriter, start time.Time) *Session {
	return &Session{
		svc:      svc,
		log:      svc.log.With("recording", rec.ID, "call_id", rec.CallID),
		clock:    svc.clock,
		start:    start,
		channels: w.Channels(),
		w:        w,
		out:      make([]byte, chunkFrames*2*w.Channels()),
		ring:     make([]int16, ringFrames*w.Channels()),
		rec:      rec,
	}
}

// ID is the recording's id in the store.
func (s *Session) ID() int64 {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.rec.ID
}

// Recording is the session's index entry as the store has it: after Close,
// with the final duration, size and hash.
func (s *Session) Recording() Recording {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.rec
}

// markSaved notes that Service.Save saved the recording.
func (s *Session) markSaved() {
	s.recMu.Lock()
	s.rec.Saved = true
	s.rec.SaveBy = time.Time{}
	s.recMu.Unlock()
}

// maxClosePadding bounds the silence Close adds after what the flusher
// wrote: about two flush intervals and the jitter allowance.
const maxClosePadding = SampleRate

// framesSince is the timeline position of t: whole samples since start.
func framesSince(start, t time.Time) int64 {
	return int64(t.Sub(start) / frameDuration)
}

// Audio takes the samples of one RTP packet of one side: side 0 (the
// caller) goes to the left channel, side 1 (the agent) to the right. A mono
// session records side 0 only. ssrc and ts are the packet's RTP SSRC and
// timestamp. Audio copies pcm and does not keep it; it does no I/O and does
// not allocate.
//
// The first packet of a channel, a packet with a new SSRC, and a packet
// whose timestamp places it more than a second from where it arrived
// anchor the channel at the packet's arrival; after that the timestamps
// place the samples, so jitter does not move audio and a gap in the
// timestamps is silence. Samples for positions already in the file are
// dropped (and counted); so are samples more than 2 s ahead of now.
func (s *Session) Audio(side int, ssrc, ts uint32, pcm []int16) {
	if side < 0 || side >= s.channels || len(pcm) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	arrival := framesSince(s.start, s.clock())
	ch := &s.ch[side]
	n := int64(len(pcm))
	var pos int64
	anchor := !ch.anchored || ssrc != ch.ssrc // first packet, new sender
	if !anchor {
		pos = ch.pos0 + int64(int32(ts-ch.ts0))
		d := pos - arrival
		switch {
		case d > reanchorFrames || d < -reanchorFrames:
			anchor = true // timestamp jump or sender restart
		case pos < s.written && pos+n > ch.end:
			// The newest audio of the channel, yet its place is in
			// the file already: the sender's timestamps fell behind
			// (a pause it did not count, a slow clock). Start again
			// at its arrival rather than lose it all.
			anchor = true
		}
	}
	if anchor {
		if ch.anchored {
			ch.reanchors++
		}
		ch.anchored, ch.ssrc, ch.ts0, ch.pos0 = true, ssrc, ts, arrival
		pos = arrival
	}

	lo, hi := pos, pos+n
	if lo < s.written {
		lo = s.written
	}
	if limit := min(s.written+ringFrames, arrival+aheadFrames); hi > limit {
		hi = limit
	}
	if hi <= lo {
		if pos+n <= s.written {
			ch.late += uint64(n)
		} else {
			ch.ahead += uint64(n)
		}
		return
	}
	ch.late += uint64(lo - pos)
	ch.ahead += uint64(pos + n - hi)
	// The samples may wrap around the end of the ring: two runs.
	src := pcm[lo-pos : hi-pos]
	first := int(lo % ringFrames)
	run := min(len(src), ringFrames-first)
	s.put(s.ring[first*s.channels+side:], src[:run])
	s.put(s.ring[side:], src[run:])
	if hi > ch.end {
		ch.end = hi
	}
}

// put writes samples into every s.channels-th slot of dst from its start:
// one channel of consecutive frames. mu is held.
func (s *Session) put(dst []int16, samples []int16) {
	if s.channels == 1 {
		copy(dst, samples)
		return
	}
	for i, v := range samples {
		dst[2*i] = v
	}
}

// Flush writes the timeline up to 250 ms before now to the file, with
// silence where nothing arrived, and updates the header, so the file on
// disk is a valid WAV file up to this point. The Service's flusher calls
// it; it is safe to call at any time from any goroutine. Flush on a closed
// session does nothing and returns nil.
func (s *Session) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.fileDone {
		return nil
	}
	return s.flushTo(framesSince(s.start, s.clock()) - jitterFrames)
}

// flushTo writes the frames before position target. flushMu is held.
func (s *Session) flushTo(target int64) error {
	defer s.account()
	wrote := false
	for s.flushErr == nil {
		s.mu.Lock()
		n := min(target-s.written, chunkFrames)
		if n <= 0 {
			s.mu.Unlock()
			break
		}
		s.copyOut(n)
		s.reportLate()
		s.mu.Unlock()

		s.fail(s.w.WriteFrames(s.out[:n*int64(2*s.channels)]))
		wrote = true
	}
	if s.flushErr != nil {
		// The file failed: nothing more goes to it. What is due is
		// dropped at once, however far the clock went.
		s.mu.Lock()
		if n := target - s.written; n > 0 {
			s.clearFrames(s.written, min(n, ringFrames))
			s.written = target
		}
		s.reportLate()
		s.mu.Unlock()
		return s.flushErr
	}
	if wrote {
		s.fail(s.w.Flush())
	}
	return s.flushErr
}

// reportLate adds the late samples counted since the last report to the
// metric. mu is held.
func (s *Session) reportLate() {
	late := s.ch[0].late + s.ch[1].late
	if n := late - s.lateReported; n > 0 {
		s.svc.metrics.late.Add(float64(n))
		s.lateReported = late
	}
}

// clearFrames zeroes the ring slots of n frames (n <= ringFrames) from
// position from. mu is held.
func (s *Session) clearFrames(from, n int64) {
	first, count := int(from%ringFrames)*s.channels, int(n)*s.channels
	run1 := min(count, len(s.ring)-first)
	clear(s.ring[first : first+run1])
	clear(s.ring[:count-run1])
}

// copyOut encodes the n frames (n <= chunkFrames) from s.written into
// s.out, clears their slots and moves s.written on. mu is held.
func (s *Session) copyOut(n int64) {
	first, count := int(s.written%ringFrames)*s.channels, int(n)*s.channels
	// The frames may wrap around the end of the ring: two runs.
	run1 := min(count, len(s.ring)-first)
	encodePCM(s.out, s.ring[first:first+run1])
	encodePCM(s.out[2*run1:], s.ring[:count-run1])
	s.clearFrames(s.written, n)
	s.written += n
}

// encodePCM writes samples as little-endian 16-bit PCM into dst.
func encodePCM(dst []byte, samples []int16) {
	for i, v := range samples {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(v))
	}
}

// fail keeps the first error writing the file and logs it once.
func (s *Session) fail(err error) {
	if err == nil || s.flushErr != nil {
		return
	}
	s.flushErr = err
	s.log.Error("recording: writing the file failed; the file keeps what was written before", "err", err)
}

// account brings the service's usage up to the file's size. flushMu is
// held.
func (s *Session) account() {
	if size := s.w.Size(); size != s.accounted {
		s.svc.addUsed(size - s.accounted)
		s.accounted = size
	}
}

// Close finishes the recording: it writes everything received, up to now
// or the furthest sample of either channel if that is later (a call whose
// sides fell silent before the hang-up still lasts as long as the call,
// silence at the end), finalises the header, closes the
// file, hashes it, and records duration, size and hash in the store. It
// returns the updated Recording. Close is idempotent; if the store could
// not take the final figures, calling Close again tries that again (the
// session stays open in the Service until then, and Service.Close tries
// too). If writing the file failed during the call, Close still finishes
// the recording with what the file holds and returns that error with it.
func (s *Session) Close(ctx context.Context) (Recording, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.finished {
		return s.Recording(), s.flushErr
	}
	if !s.fileDone {
		s.mu.Lock()
		s.closing = true
		// The flusher writes silence up to a moment ago; the tail up to
		// now is at most that delay, so a jumping clock cannot make Close
		// write hours of silence.
		now := min(framesSince(s.start, s.clock()), s.written+maxClosePadding)
		end := max(s.ch[0].end, s.ch[1].end, now)
		s.mu.Unlock()
		_ = s.flushTo(end) // the error is in s.flushErr
		if err := s.w.Close(); err != nil && !errors.Is(err, s.flushErr) {
			s.fail(err)
		}
		s.fileDone = true
		s.account()

		rec := s.Recording()
		sum, err := s.svc.hashFile(rec.Path)
		if err != nil {
			s.fail(err)
		}
		durationMS, size := s.w.Frames()*1000/SampleRate, s.w.Size()
		s.recMu.Lock()
		s.rec.DurationMS, s.rec.SizeBytes, s.rec.SHA256 = durationMS, size, sum
		s.recMu.Unlock()

		s.mu.Lock()
		lateN, aheadN := s.ch[0].late+s.ch[1].late, s.ch[0].ahead+s.ch[1].ahead
		reanchors := s.ch[0].reanchors + s.ch[1].reanchors
		s.mu.Unlock()
		s.log.Info("recording: finished",
			"duration_ms", durationMS, "size_bytes", size,
			"late_samples", lateN, "ahead_samples", aheadN, "reanchors", reanchors)
	}
	rec := s.Recording()
	if err := s.svc.st.FinishRecording(ctx, rec.ID, rec.DurationMS, rec.SizeBytes, rec.SHA256); err != nil {
		return rec, fmt.Errorf("recording: finishing recording %d: %w", rec.ID, err)
	}
	s.recMu.Lock()
	s.rec.Complete = true
	rec = s.rec
	s.recMu.Unlock()
	s.finished = true
	s.svc.remove(s)
	if s.flushErr != nil {
		return rec, s.flushErr
	}
	return rec, nil
}

// hashFile is the hex sha256 of a finished file, read back from disk (the
// header is rewritten as the call goes, so a running hash would be wrong).
func (svc *Service) hashFile(rel string) (string, error) {
	f, err := svc.openFile(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("recording: hashing %s: %w", rel, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

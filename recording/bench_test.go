package recording_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamline/teamline/recording"
)

// BenchmarkSessionAudio is the cost of recording 20 ms of a stereo call:
// one packet from each side through Audio, and a tenth of the flush the
// flusher does every 200 ms. It reports the file's bytes per recorded
// minute too.
func BenchmarkSessionAudio(b *testing.B) {
	e := newEnv(b, on)
	ctx := context.Background()
	left, right := sine(1000, 0, packet), sine(300, 0, packet)
	finish := func(s *recording.Session) recording.Recording {
		rec, err := s.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(filepath.Join(e.dir, filepath.FromSlash(rec.Path))); err != nil {
			b.Fatal(err)
		}
		return rec
	}
	const minute = 3000 // packets
	sess := e.start(b, recording.Recording{CallID: "bench"}, 2)
	k := 0
	b.ReportAllocs()
	for b.Loop() {
		ts := uint32(k * packet)
		sess.Audio(0, 0x1111, ts, left)
		sess.Audio(1, 0x2222, ts+12345, right)
		e.clock.Advance(20 * time.Millisecond)
		if k%10 == 9 {
			if err := sess.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		if k++; k == minute { // a new call every minute keeps the file small
			b.StopTimer()
			finish(sess)
			sess = e.start(b, recording.Recording{CallID: "bench"}, 2)
			k = 0
			b.StartTimer()
		}
	}
	b.StopTimer()
	finish(sess)

	// One minute of a call, for the bytes it takes.
	sess = e.start(b, recording.Recording{CallID: "minute"}, 2)
	for k := range minute {
		sess.Audio(0, 1, uint32(k*packet), left)
		sess.Audio(1, 2, uint32(k*packet), right)
		e.clock.Advance(20 * time.Millisecond)
		if k%10 == 9 {
			if err := sess.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	rec := finish(sess)
	b.ReportMetric(float64(rec.SizeBytes)*60000/float64(rec.DurationMS), "bytes/min")
}

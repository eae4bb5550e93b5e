package recording_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamline/teamline/recording"
)

// A recording whose gateway died mid-call: the row is unfinished and the
// header counts only what the last flush saw. The sweep repairs the file
// to cover every whole frame on disk and finishes the row; a file still
// being written is left alone.
func TestSweepFinishesAbandonedRecordings(t *testing.T) {
	e := newEnv(t, on)
	ctx := context.Background()
	write := func(name string, frames int, age time.Duration) recording.Recording {
		r := recording.Recording{Kind: recording.KindCall, CallID: name, Path: "2026/03/15/" + name + ".wav", Start: e.clock.Now(), Saved: true}
		if err := e.st.CreateRecording(ctx, &r); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(e.dir, filepath.FromSlash(r.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		// The header of an empty file: the last flush saw no data.
		if _, err := recording.NewWAVWriter(f, 2); err != nil {
			t.Fatal(err)
		}
		// The frames written since, and half a frame cut by the crash.
		if _, err := f.WriteAt(make([]byte, frames*4+3), 44); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		mt := e.clock.Now().Add(-age)
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := write("crashed", 8000, 5*time.Minute)
	fresh := write("live-elsewhere", 800, time.Second)
	if _, err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetRecording(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(old.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Complete || got.DurationMS != 1000 || got.SizeBytes != 44+32000 || got.SHA256 != sha256hex(b) {
		t.Errorf("recovered row %+v", got)
	}
	if w, err := parseWAV(b); err != nil || w.channels != 2 || w.frames() != 8000 {
		t.Errorf("repaired file of %d bytes: %v, want 8000 stereo frames", len(b), err)
	}
	if u, _ := e.svc.Usage(ctx); u.UsedBytes != 44+32000 {
		t.Errorf("used bytes %d, want the recovered file counted", u.UsedBytes)
	}
	if r, _ := e.st.GetRecording(ctx, fresh.ID); r.Complete {
		t.Error("a file written a second ago was finished")
	}
}

package recording_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
)

// talk feeds d of audio to both sides of sess (side 1 only when stereo),
// moving the clock along.
func (e *env) talk(sess *recording.Session, d time.Duration) {
	for k := range int(d / (20 * time.Millisecond)) {
		sess.Audio(0, 1, uint32(k*packet), sine(1000, k*packet, packet))
		sess.Audio(1, 2, uint32(k*packet), sine(300, k*packet, packet))
		e.clock.Advance(20 * time.Millisecond)
	}
}

// record makes a finished recording of d.
func (e *env) record(t testing.TB, r recording.Recording, channels int, d time.Duration) recording.Recording {
	t.Helper()
	sess := e.start(t, r, channels)
	e.talk(sess, d)
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (e *env) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(e.dir, filepath.FromSlash(rel)))
	return err == nil
}

func TestStartFile(t *testing.T) {
	tests := []struct {
		name string
		r    recording.Recording
		ch   int
		path string // pattern
	}{
		{"call id sanitised", recording.Recording{CallID: "a84b/../x@pc33.example.com"}, 2, `^2026/03/15/call-a84b____x_pc33_example_com-[0-9a-f]{8}\.wav$`},
		{"no call id: start time", recording.Recording{Kind: recording.KindCall}, 2, `^2026/03/15/call-1773550766535897932-[0-9a-f]{8}\.wav$`},
		{"voicemail", recording.Recording{Kind: recording.KindVoicemail, CallID: "vm-1"}, 1, `^2026/03/15/voicemail-vm-1-[0-9a-f]{8}\.wav$`},
		{"long call id cut", recording.Recording{CallID: strings.Repeat("x", 300)}, 2, `^2026/03/15/call-x{64}-[0-9a-f]{8}\.wav$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, on)
			rec := e.start(t, tt.r, tt.ch).Recording()
			if !regexp.MustCompile(tt.path).MatchString(rec.Path) {
				t.Errorf("path %q, want %s", rec.Path, tt.path)
			}
			fi, err := os.Stat(filepath.Join(e.dir, filepath.FromSlash(rec.Path)))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o640 || fi.Size() != 44 {
				t.Errorf("file %v, %d bytes; want -rw-r-----, 44", fi.Mode(), fi.Size())
			}
			di, err := os.Stat(filepath.Join(e.dir, "2026", "03", "15"))
			if err != nil || di.Mode().Perm() != 0o750 {
				t.Errorf("day directory: %v %v, want drwxr-x---", di.Mode(), err)
			}
			if got := e.metric(t, "teamline_recordings_total/"+string(rec.Kind)); got != 1 {
				t.Errorf("recordings_total{%s} %v, want 1", rec.Kind, got)
			}
		})
	}
}

func TestStartRefused(t *testing.T) {
	policyErr := errors.New("settings unavailable")
	tests := []struct {
		name    string
		policy  recording.Policy
		perr    error
		ch      int
		kind    recording.Kind
		want    error
		refused string // metric label, "" for none
	}{
		{"recording off", recording.Policy{}, nil, 2, "", recording.ErrDisabled, ""},
		{"policy unavailable", on, policyErr, 2, "", policyErr, "error"},
		{"three channels", on, nil, 3, "", recording.ErrBadChannels, ""},
		{"unknown kind", on, nil, 2, "fax", recording.ErrBadKind, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			e := newEnvStore(t, st, func(context.Context) (recording.Policy, error) { return tt.policy, tt.perr })
			_, err := e.svc.Start(context.Background(), recording.Recording{CallID: "x", Kind: tt.kind}, tt.ch)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Start: %v, want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(e.dir); len(entries) != 0 || len(st.recs) != 0 {
				t.Errorf("a refused Start left %d files and %d rows", len(entries), len(st.recs))
			}
			if tt.refused != "" {
				if got := e.metric(t, "teamline_recordings_refused_total/"+tt.refused); got != 1 {
					t.Errorf("refused{%s} = %v, want 1", tt.refused, got)
				}
			}
		})
	}
}

func TestQuota(t *testing.T) {
	for _, closed := range []bool{true, false} {
		name := map[bool]string{true: "finished recording", false: "recording still open"}[closed]
		t.Run(name, func(t *testing.T) {
			p := on
			p.QuotaBytes = 1000
			p.Retention = time.Hour
			e := newEnv(t, p)
			first := e.start(t, recording.Recording{CallID: "first"}, 2)
			e.talk(first, 500*time.Millisecond)
			if closed {
				if _, err := first.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else if err := first.Flush(); err != nil {
				t.Fatal(err)
			}
			size := int64(44 + 4*8000/2) // 0.5 s of stereo
			if !closed {
				size = 44 + 4*(4000-2000) // flushed up to 250 ms before now
			}

			_, err := e.svc.Start(context.Background(), recording.Recording{CallID: "second"}, 2)
			var qe *recording.QuotaError
			if !errors.Is(err, recording.ErrQuotaFull) || !errors.As(err, &qe) || qe.Used != size || qe.Quota != 1000 {
				t.Fatalf("Start over quota: %v (%+v), want ErrQuotaFull with %d of 1000 bytes", err, qe, size)
			}
			u, err := e.svc.Usage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := recording.Usage{UsedBytes: size, QuotaBytes: 1000, Full: true, Refused: 1,
				Reason: "storage quota of 1000 B is full: new calls are not recorded"}
			if u != want {
				t.Errorf("Usage %+v, want %+v", u, want)
			}
			if got := e.metric(t, "teamline_recordings_refused_total/quota"); got != 1 {
				t.Errorf("refused{quota} %v, want 1", got)
			}
			if got := e.metric(t, "teamline_recordings_bytes"); got != float64(size) {
				t.Errorf("recordings_bytes %v, want %d", got, size)
			}
			if !strings.Contains(e.logs.String(), "level=WARN") || !strings.Contains(e.logs.String(), "call_id=second") {
				t.Errorf("no warning naming the call in the log:\n%s", e.logs)
			}

			// Deleting the first recording frees the quota.
			if !closed {
				if _, err := first.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(time.Hour)
			if n, err := e.svc.Sweep(context.Background()); n != 1 || err != nil {
				t.Fatalf("Sweep: %d, %v; want 1 deleted", n, err)
			}
			if u, _ := e.svc.Usage(context.Background()); u.Full || u.UsedBytes != 0 || u.Reason != "" {
				t.Errorf("Usage after delete: %+v, want empty, not full", u)
			}
			if _, err := e.svc.Start(context.Background(), recording.Recording{CallID: "third"}, 2); err != nil {
				t.Errorf("Start after delete: %v", err)
			}
		})
	}
}

// TestUsageLoadedFromStore: the bytes of recordings made before the
// gateway started count.
func TestUsageLoadedFromStore(t *testing.T) {
	st := newMemStore()
	st.put(recording.Recording{Path: "old.wav", SizeBytes: 10 << 30, Complete: true, Saved: true})
	p := on
	p.QuotaBytes = 10 << 30
	e := newEnvStore(t, st, func(context.Context) (recording.Policy, error) { return p, nil })
	u, err := e.svc.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := recording.Usage{UsedBytes: 10 << 30, QuotaBytes: 10 << 30, Full: true,
		Reason: "storage quota of 10.0 GiB is full: new calls are not recorded"}
	if u != want {
		t.Errorf("Usage %+v, want %+v", u, want)
	}
}

func TestRetention(t *testing.T) {
	const day = 24 * time.Hour
	unsaved := recording.Policy{Enabled: true, SaveWindow: 2 * time.Second}
	type save struct {
		at   time.Duration // after the call started
		want error
	}
	tests := []struct {
		name    string
		policy  recording.Policy
		kind    recording.Kind
		save    *save
		sweepAt time.Duration // after the call started
		reason  string        // "" = kept
	}{
		{name: "before expiry", policy: recording.Policy{Enabled: true, SaveByDefault: true, Retention: 7 * day}, sweepAt: 7*day - time.Second},
		{name: "at expiry", policy: recording.Policy{Enabled: true, SaveByDefault: true, Retention: 7 * day}, sweepAt: 7 * day, reason: "expired"},
		{name: "indefinite", policy: recording.Policy{Enabled: true, SaveByDefault: true}, sweepAt: 100 * 365 * day},
		// The call lasts 3 s; the window of 2 s runs from its end.
		{name: "unsaved, within the window after the call", policy: unsaved, sweepAt: 5*time.Second - time.Millisecond},
		{name: "unsaved, after the window", policy: unsaved, sweepAt: 5 * time.Second, reason: "unsaved"},
		{name: "saved within the window", policy: unsaved, save: &save{at: 4 * time.Second}, sweepAt: 365 * day},
		{name: "saved too late", policy: unsaved, save: &save{at: 5 * time.Second, want: recording.ErrSaveWindowClosed}, sweepAt: 5 * time.Second, reason: "unsaved"},
		{name: "saved and expired", policy: recording.Policy{Enabled: true, SaveWindow: time.Hour, Retention: day}, save: &save{at: time.Hour}, sweepAt: day, reason: "expired"},
		{name: "saving a saved recording", policy: on, save: &save{at: day}, sweepAt: 2 * day},
		{name: "a voicemail is saved", policy: unsaved, kind: recording.KindVoicemail, sweepAt: 365 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.policy)
			rec := e.record(t, recording.Recording{CallID: "c", Kind: tt.kind}, 2, 3*time.Second)
			if rec.DurationMS != 3000 {
				t.Fatalf("DurationMS %d, want 3000", rec.DurationMS)
			}
			if tt.save != nil {
				e.clock.Set(rec.Start.Add(tt.save.at))
				if err := e.svc.Save(context.Background(), rec.ID); !errors.Is(err, tt.save.want) {
					t.Fatalf("Save: %v, want %v", err, tt.save.want)
				}
			}
			e.clock.Set(rec.Start.Add(tt.sweepAt))
			n, err := e.svc.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gone := tt.reason != ""
			if n != map[bool]int{true: 1, false: 0}[gone] || e.st.has(rec.ID) == gone || e.exists(rec.Path) == gone {
				t.Errorf("Sweep deleted %d; row there %v, file there %v; want deleted: %v", n, e.st.has(rec.ID), e.exists(rec.Path), gone)
			}
			if gone {
				if got := e.metric(t, "teamline_recordings_deleted_total/"+tt.reason); got != 1 {
					t.Errorf("deleted{%s} %v, want 1", tt.reason, got)
				}
				if entries, _ := os.ReadDir(e.dir); len(entries) != 0 {
					t.Errorf("empty day directories left behind: %v", entries)
				}
			}
		})
	}
}

// TestSaveDuringCall: a recording can be saved while the call goes on,
// even past the window counted from the start.
func TestSaveDuringCall(t *testing.T) {
	e := newEnv(t, recording.Policy{Enabled: true, SaveWindow: time.Second})
	sess := e.start(t, recording.Recording{CallID: "c"}, 2)
	e.talk(sess, 2*time.Second)
	if err := e.svc.Save(context.Background(), sess.ID()); err != nil {
		t.Fatalf("Save during the call: %v", err)
	}
	e.talk(sess, time.Second)
	rec, err := sess.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Saved || !rec.SaveBy.IsZero() {
		t.Errorf("Close returned Saved %v SaveBy %v, want saved", rec.Saved, rec.SaveBy)
	}
	e.clock.Advance(24 * time.Hour)
	if n, _ := e.svc.Sweep(context.Background()); n != 0 {
		t.Errorf("Sweep deleted a saved recording")
	}
	if err := e.svc.Save(context.Background(), 999); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Save of an unknown id: %v, want ErrNotFound", err)
	}
}

// TestSweepGoesOn: one recording that cannot be deleted does not stop the
// others; a missing file is fine; an open session is left alone; a row
// pointing outside the directory loses its row, never the file.
func TestSweepGoesOn(t *testing.T) {
	e := newEnv(t, recording.Policy{Enabled: true, SaveByDefault: true, Retention: time.Hour})
	var recs []recording.Recording
	for range 3 {
		recs = append(recs, e.record(t, recording.Recording{CallID: "c"}, 2, time.Second))
	}
	open := e.start(t, recording.Recording{CallID: "open"}, 2)
	if err := os.Remove(filepath.Join(e.dir, filepath.FromSlash(recs[1].Path))); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(e.dir), "outside.wav")
	if err := os.WriteFile(outside, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := e.st.put(recording.Recording{Path: "../outside.wav", Complete: true, Saved: true, ExpiresAt: t0})
	e.st.failDel[recs[0].ID] = errors.New("database is locked")

	e.clock.Advance(2 * time.Hour)
	n, err := e.svc.Sweep(context.Background())
	if n != 3 || err != nil {
		t.Fatalf("Sweep: %d, %v; want 3 deleted", n, err)
	}
	if !e.st.has(recs[0].ID) || e.st.has(recs[1].ID) || e.st.has(recs[2].ID) || e.st.has(bad) || !e.st.has(open.ID()) {
		t.Error("wrong rows left")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the file outside the directory was touched: %v", err)
	}
	if !strings.Contains(e.logs.String(), "database is locked") {
		t.Error("the failure is not logged")
	}
	// The next sweep gets the one that failed.
	delete(e.st.failDel, recs[0].ID)
	if n, err := e.svc.Sweep(context.Background()); n != 1 || err != nil {
		t.Errorf("second Sweep: %d, %v; want 1", n, err)
	}
}

func TestOpen(t *testing.T) {
	e := newEnv(t, on)
	rec := e.record(t, recording.Recording{CallID: "c"}, 2, time.Second)
	outside := filepath.Join(filepath.Dir(e.dir), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.dir, "link.wav")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want error // nil: any error
	}{
		{"parent", "../secret.txt", recording.ErrBadPath},
		{"far up", "../../../../../../etc/passwd", recording.ErrBadPath},
		{"absolute", "/etc/passwd", recording.ErrBadPath},
		{"up inside", "2026/../../secret.txt", recording.ErrBadPath},
		{"empty", "", recording.ErrBadPath},
		{"symlink out", "link.wav", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := e.st.put(recording.Recording{Path: tt.path, Complete: true})
			f, _, err := e.svc.Open(context.Background(), id)
			if f != nil {
				f.Close()
				t.Fatal("opened a file outside the directory")
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
		})
	}

	f, got, err := e.svc.Open(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if got.ID != rec.ID || fi.Size() != rec.SizeBytes {
		t.Errorf("Open: recording %d of %d bytes, want %d of %d", got.ID, fi.Size(), rec.ID, rec.SizeBytes)
	}
	if _, _, err := e.svc.Open(context.Background(), 999); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Open of an unknown id: %v, want ErrNotFound", err)
	}
}

// TestCloseFinishesSessions: a gateway that stops leaves complete files,
// and no goroutine.
func TestCloseFinishesSessions(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := newMemStore()
	clock := newClock()
	svc, err := recording.NewService(st, t.TempDir(), func(context.Context) (recording.Policy, error) { return on, nil },
		recording.WithClock(clock.Now), recording.WithFlushInterval(time.Millisecond), recording.WithSweepInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Start(context.Background(), recording.Recording{CallID: "c"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 50 {
		sess.Audio(0, 1, uint32(k*packet), sine(1000, k*packet, packet))
		clock.Advance(20 * time.Millisecond)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetRecording(context.Background(), sess.ID())
	if err != nil || !rec.Complete || rec.DurationMS != 1000 {
		t.Errorf("after Service.Close: %+v, %v; want complete, 1000 ms", rec, err)
	}
	if _, err := svc.Start(context.Background(), recording.Recording{}, 2); !errors.Is(err, recording.ErrServiceClosed) {
		t.Errorf("Start after Close: %v, want ErrServiceClosed", err)
	}
}

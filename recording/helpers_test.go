package recording_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
)

// memStore is an in-memory recording.Store with the semantics the
// interface documents (the SQL one is tested in package store).
type memStore struct {
	mu      sync.Mutex
	next    int64
	recs    map[int64]recording.Recording
	failDel map[int64]error // DeleteRecording fails for these ids
}

func newMemStore() *memStore {
	return &memStore{recs: map[int64]recording.Recording{}, failDel: map[int64]error{}}
}

func notFound(id int64) error { return fmt.Errorf("%w: recording %d", directory.ErrNotFound, id) }

func (m *memStore) CreateRecording(_ context.Context, r *recording.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	r.ID = m.next
	r.Complete = false
	m.recs[r.ID] = *r
	return nil
}

func (m *memStore) FinishRecording(_ context.Context, id int64, durationMS, sizeBytes int64, sum string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return notFound(id)
	}
	r.DurationMS, r.SizeBytes, r.SHA256, r.Complete = durationMS, sizeBytes, sum, true
	m.recs[id] = r
	return nil
}

func (m *memStore) SaveRecording(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return notFound(id)
	}
	r.Saved, r.SaveBy = true, time.Time{}
	m.recs[id] = r
	return nil
}

func (m *memStore) MarkHeard(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return notFound(id)
	}
	r.Heard = true
	m.recs[id] = r
	return nil
}

func (m *memStore) GetRecording(_ context.Context, id int64) (recording.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return recording.Recording{}, notFound(id)
	}
	return r, nil
}

// sorted returns the recordings that pass keep, by id, at most limit.
func (m *memStore) sorted(keep func(recording.Recording) bool, limit int) []recording.Recording {
	var out []recording.Recording
	for _, r := range m.recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b recording.Recording) int { return int(a.ID - b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (m *memStore) ListRecordings(_ context.Context, f recording.Filter) ([]recording.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return m.sorted(func(r recording.Recording) bool {
		return r.ID > f.AfterID &&
			(f.From.IsZero() || !r.Start.Before(f.From)) &&
			(f.To.IsZero() || r.Start.Before(f.To)) &&
			(f.Username == "" || r.Username == f.Username) &&
			(f.LeadID == 0 || r.LeadID == f.LeadID) &&
			(f.Kind == "" || r.Kind == f.Kind) &&
			(!f.Incomplete || !r.Complete)
	}, limit), nil
}

func (m *memStore) DeleteRecording(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.failDel[id]; err != nil {
		return err
	}
	if _, ok := m.recs[id]; !ok {
		return notFound(id)
	}
	delete(m.recs, id)
	return nil
}

func (m *memStore) DueRecordings(_ context.Context, now time.Time, limit int) ([]recording.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sorted(func(r recording.Recording) bool {
		expired := !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
		unsaved := !r.Saved && r.Complete && !r.SaveBy.IsZero() && !now.Before(r.SaveBy)
		return expired || unsaved
	}, limit), nil
}

func (m *memStore) RecordingBytes(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, r := range m.recs {
		n += r.SizeBytes
	}
	return n, nil
}

func (m *memStore) UnheardVoicemails(_ context.Context, username string) (unheard, total int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.Kind == recording.KindVoicemail && r.Username == username {
			total++
			if !r.Heard {
				unheard++
			}
		}
	}
	return unheard, total, nil
}

// put stores r as it is (a row another writer made).
func (m *memStore) put(r recording.Recording) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	r.ID = m.next
	m.recs[r.ID] = r
	return r.ID
}

func (m *memStore) has(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.recs[id]
	return ok
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// t0 is the start of every test's clock: not on a second, in a zone that
// is not UTC (the files are named by the UTC day).
var t0 = time.Date(2026, 3, 14, 23, 59, 26, 535897932, time.FixedZone("EST", -5*3600))

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a Service on a memStore, a temporary directory and a fake clock,
// with the flusher and the background sweep off: the test calls Flush and
// Sweep.
type env struct {
	svc   *recording.Service
	st    *memStore
	clock *fakeClock
	dir   string
	reg   *prometheus.Registry
	logs  *strings.Builder
}

func newEnv(t testing.TB, p recording.Policy, opts ...recording.Option) *env {
	t.Helper()
	return newEnvStore(t, newMemStore(), func(context.Context) (recording.Policy, error) { return p, nil }, opts...)
}

func newEnvStore(t testing.TB, st *memStore, policy recording.PolicyFunc, opts ...recording.Option) *env {
	t.Helper()
	e := &env{st: st, clock: newClock(), dir: filepath.Join(t.TempDir(), "rec"),
		reg: prometheus.NewPedanticRegistry(), logs: &strings.Builder{}}
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, e.logs}, nil))
	opts = append([]recording.Option{
		recording.WithClock(e.clock.Now), recording.WithRegisterer(e.reg), recording.WithLogger(log),
		recording.WithFlushInterval(0), recording.WithSweepInterval(0),
	}, opts...)
	svc, err := recording.NewService(e.st, e.dir, policy, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("Service.Close: %v", err)
		}
	})
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// on is the policy of an account that records and keeps everything.
var on = recording.Policy{Enabled: true, SaveByDefault: true}

// start starts a recording or fails the test.
func (e *env) start(t testing.TB, r recording.Recording, channels int) *recording.Session {
	t.Helper()
	s, err := e.svc.Start(context.Background(), r, channels)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

// metric reads one metric from the registry: "name" or "name/label".
func (e *env) metric(t testing.TB, key string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range m.GetLabel() {
				k += "/" + l.GetValue()
			}
			if k != key {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s not found", key)
	return 0
}

// wav is a parsed WAV file.
type wav struct {
	channels, rate, bits int
	samples              [][]int16 // per channel
}

func (w *wav) frames() int { return len(w.samples[0]) }

// parseWAV reads a canonical PCM WAV file and checks that its RIFF and
// data sizes agree with its length, as a player would need them to.
func parseWAV(b []byte) (*wav, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("not a RIFF/WAVE file")
	}
	if riff := binary.LittleEndian.Uint32(b[4:8]); int(riff) != len(b)-8 {
		return nil, fmt.Errorf("RIFF size %d, file has %d bytes after it", riff, len(b)-8)
	}
	w := &wav{}
	var data []byte
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		p += 8
		if p+size > len(b) {
			return nil, fmt.Errorf("chunk %q of %d bytes runs past the end", id, size)
		}
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(b[p:]) != 1 {
				return nil, errors.New("not PCM")
			}
			w.channels = int(binary.LittleEndian.Uint16(b[p+2:]))
			w.rate = int(binary.LittleEndian.Uint32(b[p+4:]))
			w.bits = int(binary.LittleEndian.Uint16(b[p+14:]))
			if br := int(binary.LittleEndian.Uint32(b[p+8:])); br != w.rate*w.channels*w.bits/8 {
				return nil, fmt.Errorf("byte rate %d", br)
			}
		case "data":
			data = b[p : p+size]
		}
		p += size + size%2
	}
	if w.channels == 0 || w.bits != 16 || data == nil {
		return nil, errors.New("no fmt or data chunk, or not 16-bit")
	}
	if len(data)%(2*w.channels) != 0 {
		return nil, errors.New("data is not whole frames")
	}
	w.samples = make([][]int16, w.channels)
	for i := 0; i < len(data); i += 2 {
		c := (i / 2) % w.channels
		w.samples[c] = append(w.samples[c], int16(binary.LittleEndian.Uint16(data[i:])))
	}
	return w, nil
}

// readWAV parses the file of a recording.
func (e *env) readWAV(t testing.TB, r recording.Recording) *wav {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(r.Path)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := parseWAV(b)
	if err != nil {
		t.Fatalf("%s: %v", r.Path, err)
	}
	return w
}

// sine is n samples of a tone of freq Hz starting at sample offset.
func sine(freq float64, offset, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(offset+i)/recording.SampleRate))
	}
	return out
}

// tonePower is the share of x's energy at freq (Goertzel), 0..1; 0 for
// silence.
func tonePower(x []int16, freq float64) float64 {
	var total float64
	for _, v := range x {
		total += float64(v) * float64(v)
	}
	if total == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/recording.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return 2 * p / (float64(len(x)) * total)
}

// silent tells whether every sample of x is 0.
func silent(x []int16) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

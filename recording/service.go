package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Service errors.
var (
	// ErrDisabled: the account does not record calls (R-REC-1).
	ErrDisabled = errors.New("recording: recording is disabled")
	// ErrQuotaFull: the storage quota is used up; new calls are not
	// recorded (R-REC-5). The error is a *QuotaError.
	ErrQuotaFull = errors.New("recording: storage quota is full")
	// ErrBadPath: a recording's path leaves the recordings directory.
	ErrBadPath = errors.New("recording: path outside the recordings directory")
	// ErrBadKind: Start was given a kind other than call or voicemail.
	ErrBadKind = errors.New("recording: unknown kind")
	// ErrServiceClosed: the Service was closed.
	ErrServiceClosed = errors.New("recording: service closed")
)

// QuotaError is the error of a Start refused because the quota is full.
// errors.Is(err, ErrQuotaFull) is true.
type QuotaError struct {
	Used, Quota int64 // bytes
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("recording: storage quota is full: %s used of %s", formatBytes(e.Used), formatBytes(e.Quota))
}

// Is makes a QuotaError match ErrQuotaFull.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaFull }

// Policy is the account's recording settings as the Service needs them.
type Policy struct {
	Enabled       bool          // R-REC-1
	SaveByDefault bool          // R-REC-2
	SaveWindow    time.Duration // how long after its call ends an unsaved recording can be saved
	Retention     time.Duration // R-REC-4; 0 = indefinite
	QuotaBytes    int64         // R-REC-5; 0 = none
}

// PolicyFunc returns the policy in force; the caller builds it from the
// account settings.
type PolicyFunc func(ctx context.Context) (Policy, error)

// Defaults of the Service.
const (
	defaultSweepInterval = time.Minute
	defaultFlushInterval = 200 * time.Millisecond
	sweepBatch           = 100
	closeTimeout         = 30 * time.Second
)

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Service) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithRegisterer registers the Service's metrics on r (default: none).
func WithRegisterer(r prometheus.Registerer) Option {
	return func(s *Service) { s.reg = r }
}

// WithSweepInterval sets how often the Service deletes expired and unsaved
// recordings in the background (default 1 min). d <= 0 turns the
// background sweep off; the caller then runs Sweep.
func WithSweepInterval(d time.Duration) Option {
	return func(s *Service) { s.sweepEvery = d }
}

// WithFlushInterval sets how often the flusher writes the open sessions to
// their files (default 200 ms). d <= 0 turns the flusher off; the caller
// then calls Session.Flush (tests do).
func WithFlushInterval(d time.Duration) Option {
	return func(s *Service) { s.flushEvery = d }
}

// Service keeps the recordings: the directory with the files, their index
// in the Store, the open sessions and the one flusher goroutine that writes
// them all, the retention sweep and the storage quota.
type Service struct {
	st         Store
	dir        string
	root       *os.Root
	policy     PolicyFunc
	log        *slog.Logger
	clock      func() time.Time
	reg        prometheus.Registerer
	sweepEvery time.Duration
	flushEvery time.Duration
	metrics    metrics

	used    atomic.Int64  // bytes of all recordings, open ones included
	refused atomic.Uint64 // Starts refused for the quota

	mu       sync.Mutex
	sessions map[int64]*Session
	closed   bool

	sweepMu sync.Mutex // one Sweep at a time
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewService opens the recordings directory dir (creating it, 0750), loads
// the bytes used by recordings from st, and starts the flusher and the
// retention sweep. Close stops them.
func NewService(st Store, dir string, policy PolicyFunc, opts ...Option) (*Service, error) {
	if st == nil || policy == nil || dir == "" {
		return nil, errors.New("recording: NewService needs a store, a directory and a policy")
	}
	s := &Service{
		st:         st,
		dir:        dir,
		policy:     policy,
		log:        slog.New(slog.DiscardHandler),
		clock:      time.Now,
		sweepEvery: defaultSweepInterval,
		flushEvery: defaultFlushInterval,
		sessions:   map[int64]*Session{},
	}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording: creating %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("recording: opening %s: %w", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	used, err := st.RecordingBytes(ctx)
	cancel()
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("recording: loading the bytes used: %w", err)
	}
	s.used.Store(used)
	s.metrics = newMetrics(s)
	if s.reg != nil {
		if err := s.metrics.register(s.reg); err != nil {
			root.Close()
			return nil, err
		}
	}
	s.root = root

	ctx, s.cancel = context.WithCancel(context.Background())
	if s.flushEvery > 0 {
		s.wg.Add(1)
		go s.flusher(ctx)
	}
	if s.sweepEvery > 0 {
		s.wg.Add(1)
		go s.sweeper(ctx)
	}
	return s, nil
}

// Close stops the flusher and the sweep and closes every open session, so
// a gateway that stops leaves complete files. Audio for those sessions is
// ignored from then on.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	for _, sess := range s.openSessions(nil) {
		if _, err := sess.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.root.Close(); err != nil {
		errs = append(errs, err)
	}
	if s.reg != nil {
		s.metrics.unregister(s.reg)
	}
	return errors.Join(errs...)
}

// openSessions appends the open sessions to buf.
func (s *Service) openSessions(buf []*Session) []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		buf = append(buf, sess)
	}
	return buf
}

// session returns the open session of recording id, or nil.
func (s *Service) session(id int64) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// remove forgets a closed session.
func (s *Service) remove(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess.ID())
	s.mu.Unlock()
}

// addUsed adds n (may be negative) to the bytes used.
func (s *Service) addUsed(n int64) { s.used.Add(n) }

// flusher writes every open session to its file every flush interval: one
// goroutine for all sessions.
func (s *Service) flusher(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	var buf []*Session
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		buf = s.openSessions(buf[:0])
		for _, sess := range buf {
			_ = sess.Flush() // a session logs its own write error once
		}
		clear(buf) // let closed sessions go
	}
}

// sweeper runs Sweep at start and every sweep interval.
func (s *Service) sweeper(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.sweepEvery)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("recording: retention sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Start begins recording a call (or a voicemail) with channels 1 (mono) or
// 2 (stereo: caller left, agent right). From r it takes CallRecordID,
// CallID, Kind (empty = call), Username, LeadID, From and To; it sets the
// rest. It refuses with ErrDisabled when the account does not record, and
// with a *QuotaError (ErrQuotaFull) when the quota is used up: the caller
// then goes on without recording.
func (s *Service) Start(ctx context.Context, r Recording, channels int) (*Session, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: %d", ErrBadChannels, channels)
	}
	if r.Kind == "" {
		r.Kind = KindCall
	}
	if r.Kind != KindCall && r.Kind != KindVoicemail {
		return nil, fmt.Errorf("%w: %q", ErrBadKind, r.Kind)
	}
	if s.isClosed() {
		return nil, ErrServiceClosed
	}
	p, err := s.policy(ctx)
	if err != nil {
		s.metrics.refused.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("recording: reading the policy: %w", err)
	}
	if !p.Enabled {
		return nil, ErrDisabled
	}
	if used := s.used.Load(); p.QuotaBytes > 0 && used >= p.QuotaBytes {
		s.refused.Add(1)
		s.metrics.refused.WithLabelValues("quota").Inc()
		s.log.Warn("recording: storage quota is full; the call is not recorded",
			"call_id", r.CallID, "used_bytes", used, "quota_bytes", p.QuotaBytes)
		return nil, &QuotaError{Used: used, Quota: p.QuotaBytes}
	}

	sess, err := s.create(ctx, r, channels, p)
	if err != nil {
		s.metrics.refused.WithLabelValues("error").Inc()
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.sessions[sess.ID()] = sess
	}
	s.mu.Unlock()
	if closed {
		_, _ = sess.Close(ctx)
		return nil, ErrServiceClosed
	}
	s.metrics.started.WithLabelValues(string(r.Kind)).Inc()
	s.log.Debug("recording: started", "recording", sess.ID(), "call_id", r.CallID, "kind", r.Kind, "channels", channels)
	return sess, nil
}

func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// create makes the file and the index entry of a new recording.
func (s *Service) create(ctx context.Context, r Recording, channels int, p Policy) (*Session, error) {
	now := s.clock()
	day := now.UTC().Format("2006/01/02")
	if err := s.root.MkdirAll(filepath.FromSlash(day), 0o750); err != nil {
		return nil, fmt.Errorf("recording: creating %s: %w", day, err)
	}
	var (
		rel string
		f   *os.File
		err error
	)
	for range 3 { // a name taken already is tried again with another random part
		rel = path.Join(day, fileName(r.Kind, r.CallID, now))
		f, err = s.root.OpenFile(filepath.FromSlash(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("recording: creating the file: %w", err)
	}
	w, err := NewWAVWriter(f, channels)
	if err != nil {
		f.Close()
		s.removeFile(rel)
		return nil, err
	}

	rec := Recording{
		CallRecordID: r.CallRecordID,
		CallID:       r.CallID,
		Kind:         r.Kind,
		Username:     r.Username,
		LeadID:       r.LeadID,
		From:         r.From,
		To:           r.To,
		Path:         rel,
		Start:        now,
		Saved:        p.SaveByDefault || r.Kind == KindVoicemail,
	}
	if !rec.Saved {
		// The window runs from the end of the call; the store keeps
		// start + window, and SaveDeadline adds the call's duration.
		rec.SaveBy = now.Add(max(p.SaveWindow, 0))
	}
	if p.Retention > 0 {
		rec.ExpiresAt = now.Add(p.Retention)
	}
	if err := s.st.CreateRecording(ctx, &rec); err != nil {
		w.Close()
		s.removeFile(rel)
		return nil, fmt.Errorf("recording: indexing the recording: %w", err)
	}
	sess := newSession(s, rec, w, now)
	sess.flushMu.Lock()
	sess.account() // the header
	sess.flushMu.Unlock()
	return sess, nil
}

// fileName is "<kind>-<call id, or start in unix nanoseconds>-<random>.wav",
// the call id cut to 64 characters of [A-Za-z0-9_-].
func fileName(kind Kind, callID string, start time.Time) string {
	id := make([]byte, 0, 64)
	for i := 0; i < len(callID) && len(id) < 64; i++ {
		c := callID[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			id = append(id, c)
		default:
			id = append(id, '_')
		}
	}
	if len(id) == 0 {
		id = strconv.AppendInt(id, start.UnixNano(), 10)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:]) // never fails
	return string(kind) + "-" + string(id) + "-" + hex.EncodeToString(rnd[:]) + ".wav"
}

// localPath turns a recording's path into one the root opens, refusing any
// that would leave the directory.
func localPath(rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: %q", ErrBadPath, rel)
	}
	return p, nil
}

// openFile opens a recording's file for reading.
func (s *Service) openFile(rel string) (*os.File, error) {
	p, err := localPath(rel)
	if err != nil {
		return nil, err
	}
	f, err := s.root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("recording: opening %s: %w", rel, err)
	}
	return f, nil
}

// removeFile deletes a file and then the day directories it leaves
// empty. A file already gone is fine.
func (s *Service) removeFile(rel string) error {
	p, err := localPath(rel)
	if err != nil {
		return err
	}
	if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recording: deleting %s: %w", rel, err)
	}
	for d := filepath.Dir(p); d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if s.root.Remove(d) != nil { // not empty (or gone): stop
			break
		}
	}
	return nil
}

// SaveDeadline is when an unsaved recording is deleted: SaveWindow after
// its call ended. The store keeps SaveBy = Start + SaveWindow (the end is
// not known when the row is made), so the deadline is SaveBy plus the
// duration. Zero for a saved recording, or one without a deadline.
func SaveDeadline(r Recording) time.Time {
	if r.Saved || r.SaveBy.IsZero() {
		return time.Time{}
	}
	return r.SaveBy.Add(time.Duration(r.DurationMS) * time.Millisecond)
}

// Save keeps a recording (R-REC-2). Saving a saved recording is fine; an
// unsaved one whose save window has passed gives ErrSaveWindowClosed. A
// missing id gives the store's error (directory.ErrNotFound), wrapped.
func (s *Service) Save(ctx context.Context, id int64) error {
	r, err := s.st.GetRecording(ctx, id)
	if err != nil {
		return fmt.Errorf("recording: saving %d: %w", id, err)
	}
	if r.Saved {
		return nil
	}
	sess := s.session(id)
	if d := SaveDeadline(r); sess == nil && !d.IsZero() && !s.clock().Before(d) {
		return fmt.Errorf("%w: recording %d could be saved until %s", ErrSaveWindowClosed, id, d.UTC().Format(time.RFC3339))
	}
	if err := s.st.SaveRecording(ctx, id); err != nil {
		return fmt.Errorf("recording: saving %d: %w", id, err)
	}
	if sess != nil {
		sess.markSaved()
	}
	return nil
}

// Sweep first finishes recordings a crashed gateway left unfinished (see
// recoverAbandoned), then deletes the recordings that are due (R-REC-2, R-REC-4): those past
// ExpiresAt ("expired") and unsaved ones whose save window after the call
// has passed ("unsaved"). The file goes first (one already missing is
// fine), then the index entry. A recording that cannot be deleted is
// logged and left for the next sweep; the sweep goes on with the others.
//
// The store's DueRecordings finds unsaved recordings by SaveBy = Start +
// SaveWindow; Sweep keeps those whose SaveDeadline (SaveBy + duration) has
// not passed. If a whole batch is such recordings, the ones behind it wait
// for a later sweep.
func (s *Service) Sweep(ctx context.Context) (deleted int, err error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if err := s.recoverAbandoned(ctx); err != nil {
		s.log.Error("recording: recovery of unfinished recordings failed", "err", err)
	}
	now := s.clock()
	seen := map[int64]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		batch, err := s.st.DueRecordings(ctx, now, sweepBatch)
		if err != nil {
			return deleted, fmt.Errorf("recording: listing due recordings: %w", err)
		}
		fresh := false
		for _, r := range batch {
			if seen[r.ID] {
				continue
			}
			seen[r.ID], fresh = true, true
			reason := dueReason(r, now)
			if reason == "" || s.session(r.ID) != nil {
				continue
			}
			if err := s.delete(ctx, r); err != nil {
				s.log.Error("recording: deleting a due recording failed", "recording", r.ID, "reason", reason, "err", err)
				continue
			}
			deleted++
			s.metrics.deleted.WithLabelValues(reason).Inc()
		}
		if len(batch) < sweepBatch || !fresh {
			return deleted, nil
		}
	}
}

// dueReason is "expired" or "unsaved" for a recording that should go at
// now, "" for one that stays.
func dueReason(r Recording, now time.Time) string {
	if !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) {
		return "expired"
	}
	if d := SaveDeadline(r); r.Complete && !d.IsZero() && !now.Before(d) {
		return "unsaved"
	}
	return ""
}

// delete removes a recording's file and index entry.
func (s *Service) delete(ctx context.Context, r Recording) error {
	if err := s.removeFile(r.Path); errors.Is(err, ErrBadPath) {
		// Not a file of ours: leave it alone, drop the entry.
		s.log.Error("recording: index entry points outside the recordings directory; deleting the entry only", "recording", r.ID)
	} else if err != nil {
		return err
	}
	if err := s.st.DeleteRecording(ctx, r.ID); err != nil {
		return fmt.Errorf("recording: deleting index entry %d: %w", r.ID, err)
	}
	s.addUsed(-r.SizeBytes)
	return nil
}

// Usage reports the bytes used by recordings against the quota.
func (s *Service) Usage(ctx context.Context) (Usage, error) {
	u := Usage{UsedBytes: s.used.Load(), Refused: s.refused.Load()}
	p, err := s.policy(ctx)
	if err != nil {
		return u, fmt.Errorf("recording: reading the policy: %w", err)
	}
	if p.QuotaBytes > 0 {
		u.QuotaBytes = p.QuotaBytes
		if u.UsedBytes >= p.QuotaBytes {
			u.Full = true
			u.Reason = "storage quota of " + formatBytes(p.QuotaBytes) + " is full: new calls are not recorded"
		}
	}
	return u, nil
}

// formatBytes writes n in binary units with one decimal: "10.0 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + [...]string{"KiB", "MiB", "GiB", "TiB", "PiB"}[i]
}

// Open opens a recording's file for download (the API serves it with
// http.ServeContent). A path that would leave the recordings directory is
// refused with ErrBadPath and never opened. The caller closes the file.
func (s *Service) Open(ctx context.Context, id int64) (*os.File, Recording, error) {
	r, err := s.st.GetRecording(ctx, id)
	if err != nil {
		return nil, Recording{}, fmt.Errorf("recording: opening %d: %w", id, err)
	}
	if s.isClosed() {
		return nil, r, ErrServiceClosed
	}
	f, err := s.openFile(r.Path)
	if err != nil {
		return nil, r, err
	}
	return f, r, nil
}

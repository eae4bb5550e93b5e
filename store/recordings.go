package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/teamline/teamline/recording"
)

var _ recording.Store = (*Store)(nil)

// ErrBadRecording: a recording the store will not write (no start time, an
// unknown kind, no path, a negative size). The recording service builds
// them, so it is a bug there, not bad input from a user.
var ErrBadRecording = errors.New("store: bad recording")

// Limits of ListRecordings and DueRecordings.
const (
	defaultRecordingLimit = 100
	maxRecordingLimit     = 1000
)

const selectRecordings = `SELECT id, call_record_id, call_id, kind, username, lead_id, from_number, to_number,
	path, started_at, duration_ms, size_bytes, sha256, complete, saved, save_by, expires_at, heard
FROM recordings`

// recordingLimit is limit within (0, maxRecordingLimit], the default for
// 0 or less.
func recordingLimit(limit int) int {
	return clampLimit(limit, defaultRecordingLimit, maxRecordingLimit)
}

// CreateRecording inserts r, not complete yet, and sets r.ID; r's times and
// cut texts are set to what was stored and r.Complete to false. CallID,
// From and To are cut like a call record's (1024 bytes); Username longer
// than 255 characters, Path than 1024 or SHA256 than 64 are ErrTooLong.
// Start, a Kind of recording.KindCall or KindVoicemail and a Path are
// required (else ErrBadRecording).
func (s *Store) CreateRecording(ctx context.Context, r *recording.Recording) error {
	what := fmt.Sprintf("recording of call %q", cut(r.CallID, 64))
	switch {
	case r.Start.IsZero():
		return fmt.Errorf("%w: %s: no start time", ErrBadRecording, what)
	case r.Kind != recording.KindCall && r.Kind != recording.KindVoicemail:
		return fmt.Errorf("%w: %s: kind %q", ErrBadRecording, what, cut(string(r.Kind), 32))
	case r.Path == "":
		return fmt.Errorf("%w: %s: no path", ErrBadRecording, what)
	case r.DurationMS < 0 || r.SizeBytes < 0:
		return fmt.Errorf("%w: %s: negative duration or size", ErrBadRecording, what)
	}
	c := *r
	c.CallID, c.From, c.To = cut(r.CallID, maxCallText), cut(r.From, maxCallText), cut(r.To, maxCallText)
	c.Start, c.SaveBy, c.ExpiresAt = dbTime(r.Start), roundZero(r.SaveBy), roundZero(r.ExpiresAt)
	c.Complete = false
	res, err := s.q.ExecContext(ctx, `INSERT INTO recordings (call_record_id, call_id, kind, username, lead_id,
		from_number, to_number, path, started_at, duration_ms, size_bytes, sha256, complete, saved, save_by,
		expires_at, heard, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.CallRecordID, c.CallID, string(c.Kind), c.Username, c.LeadID, c.From, c.To, c.Path, fmtTime(c.Start),
		c.DurationMS, c.SizeBytes, c.SHA256, c.Complete, c.Saved, nullTime(c.SaveBy), nullTime(c.ExpiresAt),
		c.Heard, fmtTime(s.now()))
	if err != nil {
		return writeErr(err, what)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	*r = c
	return nil
}

// FinishRecording sets the final duration, size and hash of recording id
// and marks it complete; finishing it again replaces them. ErrNotFound for
// an unknown id.
func (s *Store) FinishRecording(ctx context.Context, id int64, durationMS, sizeBytes int64, sha256 string) error {
	what := fmt.Sprintf("recording %d", id)
	if durationMS < 0 || sizeBytes < 0 {
		return fmt.Errorf("%w: %s: negative duration or size", ErrBadRecording, what)
	}
	return s.updateOne(ctx, what, `UPDATE recordings SET duration_ms = ?, size_bytes = ?, sha256 = ?, complete = 1
		WHERE id = ?`, durationMS, sizeBytes, sha256, id)
}

// SaveRecording marks recording id saved and clears its SaveBy: it stays
// until its ExpiresAt. ErrNotFound for an unknown id.
func (s *Store) SaveRecording(ctx context.Context, id int64) error {
	return s.updateOne(ctx, fmt.Sprintf("recording %d", id),
		`UPDATE recordings SET saved = 1, save_by = NULL WHERE id = ?`, id)
}

// MarkHeard marks recording id (a voicemail) heard. ErrNotFound for an
// unknown id.
func (s *Store) MarkHeard(ctx context.Context, id int64) error {
	return s.updateOne(ctx, fmt.Sprintf("recording %d", id), `UPDATE recordings SET heard = 1 WHERE id = ?`, id)
}

// DeleteRecording removes recording id from the index (not its file). A
// call record linked to it keeps the link: the call was recorded.
// ErrNotFound for an unknown id.
func (s *Store) DeleteRecording(ctx context.Context, id int64) error {
	what := fmt.Sprintf("recording %d", id)
	res, err := s.q.ExecContext(ctx, `DELETE FROM recordings WHERE id = ?`, id)
	if err != nil {
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

// GetRecording returns recording id; ErrNotFound for an unknown id.
func (s *Store) GetRecording(ctx context.Context, id int64) (recording.Recording, error) {
	rs, err := s.recordings(ctx, selectRecordings+` WHERE id = ?`, id)
	if err != nil {
		return recording.Recording{}, err
	}
	if len(rs) == 0 {
		return recording.Recording{}, notFound("recording %d", id)
	}
	return rs[0], nil
}

// ListRecordings returns the recordings f selects, by ID, at most f.Limit
// (default 100, at most 1000). Username and Kind match exactly.
func (s *Store) ListRecordings(ctx context.Context, f recording.Filter) ([]recording.Recording, error) {
	where, args := ` WHERE id > ?`, []any{f.AfterID}
	if f.Username != "" {
		cond, a := exact("username", f.Username)
		where, args = where+` AND `+cond, append(args, a...)
	}
	if f.Kind != "" {
		cond, a := exact("kind", string(f.Kind))
		where, args = where+` AND `+cond, append(args, a...)
	}
	if f.LeadID != 0 {
		where, args = where+` AND lead_id = ?`, append(args, f.LeadID)
	}
	if f.Incomplete {
		where += ` AND complete = 0`
	}
	if !f.From.IsZero() {
		where, args = where+` AND started_at >= ?`, append(args, fmtTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = where+` AND started_at < ?`, append(args, fmtTime(f.To))
	}
	return s.recordings(ctx, selectRecordings+where+` ORDER BY id LIMIT ?`, append(args, recordingLimit(f.Limit))...)
}

// DueRecordings returns, by ID, up to limit (default 100, at most 1000)
// recordings to remove at now: those whose ExpiresAt is at or before now,
// and the complete, unsaved ones whose SaveBy is at or before now.
func (s *Store) DueRecordings(ctx context.Context, now time.Time, limit int) ([]recording.Recording, error) {
	at := fmtTime(now)
	return s.recordings(ctx, selectRecordings+` WHERE (expires_at IS NOT NULL AND expires_at <= ?)
		OR (saved = 0 AND complete = 1 AND save_by IS NOT NULL AND save_by <= ?)
		ORDER BY id LIMIT ?`, at, at, recordingLimit(limit))
}

// RecordingBytes is the total size of all recordings, 0 when there are none.
func (s *Store) RecordingBytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(size_bytes), 0) FROM recordings`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: size of the recordings: %w", err)
	}
	return n, nil
}

// UnheardVoicemails counts the voicemails of username (exact match) not
// heard yet, and all of them.
func (s *Store) UnheardVoicemails(ctx context.Context, username string) (unheard, total int, err error) {
	cond, args := exact("username", username)
	kind, kargs := exact("kind", string(recording.KindVoicemail))
	err = s.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN heard = 0 THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM recordings WHERE `+cond+` AND `+kind, append(args, kargs...)...).Scan(&unheard, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("store: voicemails of %q: %w", username, err)
	}
	return unheard, total, nil
}

func (s *Store) recordings(ctx context.Context, query string, args ...any) ([]recording.Recording, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list recordings: %w", err)
	}
	defer rows.Close()
	out := []recording.Recording{}
	for rows.Next() {
		var (
			r               recording.Recording
			saveBy, expires *time.Time
		)
		if err := rows.Scan(&r.ID, &r.CallRecordID, &r.CallID, &r.Kind, &r.Username, &r.LeadID, &r.From, &r.To,
			&r.Path, scanTime(&r.Start), &r.DurationMS, &r.SizeBytes, &r.SHA256, &r.Complete, &r.Saved,
			scanNullTime(&saveBy), scanNullTime(&expires), &r.Heard); err != nil {
			return nil, fmt.Errorf("store: read recording: %w", err)
		}
		r.SaveBy, r.ExpiresAt = deref(saveBy), deref(expires)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list recordings: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/teamline/teamline/router"
)

// ErrBadInbox: an inbox entry the store will not write (a kind other than
// call or text). The router builds entries, so it is a bug there.
var ErrBadInbox = errors.New("store: bad inbox entry")

// Limits of ListInbox.
const (
	defaultInboxLimit = 100
	maxInboxLimit     = 1000
)

const selectInbox = `SELECT id, at, kind, from_number, to_number, call_id, reason, forward_to, done, done_by, done_at
FROM inbox`

// AddInbox inserts e and sets e.ID; e's times and texts are set to what
// was stored. From, To, CallID, Reason and ForwardTo come partly from the
// caller and are cut to 1024 bytes on a UTF-8 boundary (invalid UTF-8
// replaced), like a call record's: a missed caller is never lost to a
// long header. A zero At is the store's clock; a DoneBy longer than 255
// characters is ErrTooLong.
func (q *queries) AddInbox(ctx context.Context, e *router.InboxEntry) error {
	what := fmt.Sprintf("inbox entry of %q", cut(e.From, 64))
	if e.Kind != router.KindCall && e.Kind != router.KindText {
		return fmt.Errorf("%w: %s: kind %q", ErrBadInbox, what, cut(string(e.Kind), 16))
	}
	c := *e
	c.At, _ = q.createStamps(c.At, time.Time{})
	c.DoneAt = roundZero(c.DoneAt)
	c.From, c.To, c.CallID = cut(e.From, maxCallText), cut(e.To, maxCallText), cut(e.CallID, maxCallText)
	c.Reason, c.ForwardTo = cut(e.Reason, maxCallText), cut(e.ForwardTo, maxCallText)
	res, err := q.q.ExecContext(ctx, `INSERT INTO inbox (at, kind, from_number, to_number, call_id, reason,
		forward_to, done, done_by, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		fmtTime(c.At), string(c.Kind), c.From, c.To, c.CallID, c.Reason, c.ForwardTo, c.Done, c.DoneBy,
		nullTime(c.DoneAt))
	if err != nil {
		return writeErr(err, what)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	*e = c
	return nil
}

// ListInbox returns the entries f selects, newest (highest ID) first: with
// f.Before, those with a smaller ID (the next page starts before the last
// entry of this one); with f.OpenOnly, those not done. At most f.Limit
// (default 100, at most 1000).
func (s *Store) ListInbox(ctx context.Context, f router.InboxFilter) ([]router.InboxEntry, error) {
	before := f.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	query, args := selectInbox+` WHERE id < ?`, []any{before}
	if f.OpenOnly {
		query, args = query+` AND done = ?`, append(args, false)
	}
	query, args = query+` ORDER BY id DESC LIMIT ?`, append(args, clampLimit(f.Limit, defaultInboxLimit, maxInboxLimit))
	out := []router.InboxEntry{}
	err := s.each(ctx, query, args, func(r *sql.Rows) error {
		var (
			e      router.InboxEntry
			doneAt *time.Time
		)
		if err := r.Scan(&e.ID, scanTime(&e.At), &e.Kind, &e.From, &e.To, &e.CallID, &e.Reason, &e.ForwardTo,
			&e.Done, &e.DoneBy, scanNullTime(&doneAt)); err != nil {
			return err
		}
		e.DoneAt = deref(doneAt)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list inbox: %w", err)
	}
	return out, nil
}

// CountInbox counts the entries not done yet.
func (s *Store) CountInbox(ctx context.Context) (int64, error) {
	var n int64
	if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM inbox WHERE done = ?`, false).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count inbox: %w", err)
	}
	return n, nil
}

// DoneInbox marks entry id done by the user by at (the store's clock if
// zero). An entry done already keeps who did it first and when: of two
// managers who call the same caller back, the inbox shows the first.
// ErrNotFound for an unknown id; a by longer than 255 characters is
// ErrTooLong.
func (s *Store) DoneInbox(ctx context.Context, id int64, by string, at time.Time) error {
	return s.updateOpen(ctx, fmt.Sprintf("inbox entry %d", id), "inbox", id,
		`UPDATE inbox SET done = ?, done_by = ?, done_at = ? WHERE id = ? AND done = ?`,
		true, by, fmtTime(s.updateStamp(at)), id, false)
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/teamline/teamline/billing"
)

var _ billing.CallRecords = (*Store)(nil)

// Sizes, in bytes, the texts of a call record that come partly from
// outside are cut to (see billing.CallRecord).
const (
	maxCallText   = 1024 // call_id, from_party, to_party, route
	maxCallReason = 255  // sip_reason
)

// What CloseOpenCallRecords writes into the records a crash left open.
const interruptedReason = "gateway restarted"

const selectCallRecords = `SELECT id, call_id, node, direction, from_party, to_party, dialed, number_kind,
	role, username, lead_id, trunk, route, start_at, answer_at, end_at, result, sip_code, sip_reason,
	consent, consent_at,
	-- derived: the call's recording (a call or voicemail), 0 for none
	COALESCE((SELECT MAX(r.id) FROM recordings r WHERE r.call_record_id = call_records.id), 0)
FROM call_records`

// CreateCallRecord inserts r and sets r.ID; r's times and cut texts are
// set to what was stored.
func (s *Store) CreateCallRecord(ctx context.Context, r *billing.CallRecord) error {
	what := fmt.Sprintf("call record of call %q", cut(r.CallID, 64))
	if r.Start.IsZero() {
		return fmt.Errorf("store: %s: no start time", what)
	}
	c := *r
	c.CallID, c.From, c.To = cut(r.CallID, maxCallText), cut(r.From, maxCallText), cut(r.To, maxCallText)
	c.Route, c.SIPReason = cut(r.Route, maxCallText), cut(r.SIPReason, maxCallReason)
	c.Start, c.Answer, c.End = dbTime(r.Start), roundZero(r.Answer), roundZero(r.End)
	c.ConsentAt = roundZero(r.ConsentAt)
	res, err := s.q.ExecContext(ctx, `INSERT INTO call_records (call_id, node, direction, from_party, to_party,
		dialed, number_kind, role, username, lead_id, trunk, route, start_at, answer_at, end_at, result,
		sip_code, sip_reason, consent, consent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.CallID, c.Node, string(c.Direction), c.From, c.To, c.Dialed, c.NumberKind, c.Role, c.Username,
		c.LeadID, c.Trunk, c.Route, fmtTime(c.Start), nullTime(c.Answer), nullTime(c.End), string(c.Result),
		c.SIPCode, c.SIPReason, c.Consent, nullTime(c.ConsentAt))
	if err != nil {
		return writeErr(err, what)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	*r = c
	return nil
}

// AnswerCallRecord sets the answer time, and the agent when username is
// not empty, of a call that is neither answered nor ended yet; otherwise
// it changes nothing. ErrNotFound for an unknown id.
func (s *Store) AnswerCallRecord(ctx context.Context, id int64, at time.Time, username string) error {
	what := fmt.Sprintf("call record %d", id)
	if at.IsZero() {
		return fmt.Errorf("store: %s: no answer time", what)
	}
	// Username chosen in Go: MySQL's "= ''" is true for spaces too.
	set, args := `answer_at = ?`, []any{fmtTime(at)}
	if username != "" {
		set, args = set+`, username = ?`, append(args, username)
	}
	return s.updateOpen(ctx, what, "call_records", id, `UPDATE call_records SET `+set+
		` WHERE id = ? AND end_at IS NULL AND answer_at IS NULL`, append(args, id)...)
}

// EndCallRecord ends the record if it is still open; ending it again
// changes nothing. ErrNotFound for an unknown id.
func (s *Store) EndCallRecord(ctx context.Context, id int64, e billing.CallEnd) error {
	what := fmt.Sprintf("call record %d", id)
	if e.At.IsZero() {
		return fmt.Errorf("store: %s: no end time", what)
	}
	return s.updateOpen(ctx, what, "call_records", id, `UPDATE call_records SET end_at = ?, result = ?, sip_code = ?, sip_reason = ?
		WHERE id = ? AND end_at IS NULL`,
		fmtTime(e.At), string(e.Result), e.SIPCode, cut(e.SIPReason, maxCallReason), id)
}

// updateOpen runs an update of row id of table that matches only in some
// states: no row matched is ErrNotFound only if the row does not exist.
func (s *Store) updateOpen(ctx context.Context, what, table string, id int64, query string, args ...any) error {
	n, err := s.execCount(ctx, what, query, args...)
	if err != nil || n > 0 {
		return err
	}
	var one int
	err = s.q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("%s", what)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// UpdateCallRoute replaces the routing facts of record id and sets its
// agent when username is not empty. ErrNotFound for an unknown id.
func (s *Store) UpdateCallRoute(ctx context.Context, id int64, dialed, kind, role, username string, leadID int64, route string) error {
	what := fmt.Sprintf("call record %d", id)
	set := `dialed = ?, number_kind = ?, role = ?, lead_id = ?, route = ?`
	args := []any{dialed, kind, role, leadID, cut(route, maxCallText)}
	if username != "" {
		set, args = set+`, username = ?`, append(args, username)
	}
	return s.updateOne(ctx, what, `UPDATE call_records SET `+set+` WHERE id = ?`, append(args, id)...)
}

// SetCallTrunk sets the trunk of record id.
func (s *Store) SetCallTrunk(ctx context.Context, id int64, trunk string) error {
	return s.updateOne(ctx, fmt.Sprintf("call record %d", id), `UPDATE call_records SET trunk = ? WHERE id = ?`, cut(trunk, 255), id)
}

// SetCallConsent sets how and when the parties of call id were told of its
// recording (a zero at stores no time). ErrNotFound for an unknown id; a
// consent longer than 255 characters is ErrTooLong.
func (s *Store) SetCallConsent(ctx context.Context, id int64, consent string, at time.Time) error {
	return s.updateOne(ctx, fmt.Sprintf("call record %d", id), `UPDATE call_records SET consent = ?, consent_at = ? WHERE id = ?`,
		consent, nullTime(at), id)
}

// CloseOpenCallRecords ends the open records of node at at as interrupted
// and returns how many there were.
func (s *Store) CloseOpenCallRecords(ctx context.Context, node string, at time.Time) (int64, error) {
	what := fmt.Sprintf("open call records of node %q", node)
	if at.IsZero() {
		return 0, fmt.Errorf("store: %s: no end time", what)
	}
	cond, args := exact("node", node)
	return s.execCount(ctx, what, `UPDATE call_records SET end_at = ?, result = ?,
		sip_code = CASE WHEN answer_at IS NULL THEN 0 ELSE 200 END, sip_reason = ?
		WHERE `+cond+` AND end_at IS NULL`,
		append([]any{fmtTime(at), string(billing.ResultInterrupted), interruptedReason}, args...)...)
}

// GetCallRecord returns record id.
func (s *Store) GetCallRecord(ctx context.Context, id int64) (billing.CallRecord, error) {
	rs, err := s.callRecords(ctx, selectCallRecords+` WHERE id = ?`, id)
	if err != nil {
		return billing.CallRecord{}, err
	}
	if len(rs) == 0 {
		return billing.CallRecord{}, notFound("call record %d", id)
	}
	return rs[0], nil
}

// ListCallRecords returns the records f selects, by ID, at most f.Limit
// (default billing.DefaultCallLimit, at most billing.MaxCallLimit).
func (s *Store) ListCallRecords(ctx context.Context, f billing.CallFilter) ([]billing.CallRecord, error) {
	where, args := ` WHERE id > ?`, []any{f.After}
	if f.Username != "" {
		cond, a := exact("username", f.Username)
		where, args = where+` AND `+cond, append(args, a...)
	}
	if !f.Since.IsZero() {
		where, args = where+` AND start_at >= ?`, append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = where+` AND start_at < ?`, append(args, fmtTime(f.Until))
	}
	if f.Open {
		where += ` AND end_at IS NULL`
	}
	limit := clampLimit(f.Limit, billing.DefaultCallLimit, billing.MaxCallLimit)
	return s.callRecords(ctx, selectCallRecords+where+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

func (s *Store) callRecords(ctx context.Context, query string, args ...any) ([]billing.CallRecord, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list call records: %w", err)
	}
	defer rows.Close()
	out := []billing.CallRecord{}
	for rows.Next() {
		var (
			r                    billing.CallRecord
			answer, end, consent *time.Time
		)
		if err := rows.Scan(&r.ID, &r.CallID, &r.Node, &r.Direction, &r.From, &r.To, &r.Dialed, &r.NumberKind,
			&r.Role, &r.Username, &r.LeadID, &r.Trunk, &r.Route, scanTime(&r.Start), scanNullTime(&answer),
			scanNullTime(&end), &r.Result, &r.SIPCode, &r.SIPReason, &r.Consent, scanNullTime(&consent),
			&r.RecordingID); err != nil {
			return nil, fmt.Errorf("store: read call record: %w", err)
		}
		r.Answer, r.End, r.ConsentAt = deref(answer), deref(end), deref(consent)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list call records: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/teamline/teamline/directory"
)

// The SIP layer calls the registration and call record methods directly,
// outside transactions, so they are methods of Store (which knows its
// dialect), not of queries.
var _ directory.Contacts = (*Store)(nil)

// Sizes of the contact columns checked in bytes before writing (the
// migrations' limits count characters, which are never more).
const (
	maxContactURI = 1024 // uri, source, call_id
	maxUserAgent  = 255
)

const selectContacts = `SELECT c.id, u.username, c.uri, c.source, c.instance, c.call_id, c.cseq,
	c.user_agent, c.node, c.expires_at, c.updated_at
FROM sip_contacts c JOIN users u ON u.id = c.user_id`

// contactColumns are the columns PutContact writes, in its argument order.
const contactColumns = `user_id, uri, uri_hash, source, instance, call_id, cseq, user_agent, node, expires_at, updated_at`

// Upserts of a binding on each dialect. Both keep the row (and so its ID)
// when the binding exists and hand back its ID: MySQL through
// LAST_INSERT_ID(id), SQLite through RETURNING. uri needs no update: the
// same uri_hash is the same URI.
const (
	putContactMySQL = `INSERT INTO sip_contacts (` + contactColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), source = VALUES(source), instance = VALUES(instance),
	call_id = VALUES(call_id), cseq = VALUES(cseq), user_agent = VALUES(user_agent), node = VALUES(node),
	expires_at = VALUES(expires_at), updated_at = VALUES(updated_at)`
	putContactSQLite = `INSERT INTO sip_contacts (` + contactColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (user_id, uri_hash) DO UPDATE SET source = excluded.source, instance = excluded.instance,
	call_id = excluded.call_id, cseq = excluded.cseq, user_agent = excluded.user_agent, node = excluded.node,
	expires_at = excluded.expires_at, updated_at = excluded.updated_at
RETURNING id`
)

// uriHash is the key of a binding's URI: hex SHA-256 of its exact bytes.
func uriHash(uri string) string {
	h := sha256.Sum256([]byte(uri))
	return hex.EncodeToString(h[:])
}

// cut returns s as valid UTF-8 of at most n bytes, cut at a character
// boundary: for texts from outside that are worth keeping in part rather
// than refusing (invalid UTF-8 would fail on MySQL only).
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// PutContact inserts or replaces the binding of (c.Username, c.URI) and
// sets c.ID (the existing binding's on a refresh), c.UpdatedAt (the store's
// clock if zero), c.Expires rounded as stored and c.UserAgent as cut.
func (s *Store) PutContact(ctx context.Context, c *directory.Contact) error {
	what := fmt.Sprintf("contact of user %q", c.Username)
	for _, f := range []struct{ col, v string }{{"uri", c.URI}, {"source", c.Source}, {"call_id", c.CallID}} {
		if len(f.v) > maxContactURI {
			return fmt.Errorf("%w: %s: %s", ErrTooLong, what, f.col)
		}
	}
	user, err := s.userID(ctx, c.Username)
	if err != nil {
		return busyErr(err, what)
	}
	ua := cut(c.UserAgent, maxUserAgent)
	expires, updated := dbTime(c.Expires), s.updateStamp(c.UpdatedAt)
	args := []any{user, c.URI, uriHash(c.URI), c.Source, c.Instance, c.CallID, int64(c.CSeq), ua, c.Node,
		fmtTime(expires), fmtTime(updated)}
	var id int64
	if s.driver == DriverMySQL {
		res, e := s.q.ExecContext(ctx, putContactMySQL, args...)
		if err = e; err == nil {
			id, err = res.LastInsertId()
		}
	} else {
		err = s.q.QueryRowContext(ctx, putContactSQLite, args...).Scan(&id)
	}
	if err != nil {
		if kind, _ := classify(err); kind == errForeignKey {
			// The user went between the lookup and the insert.
			return notFound("user %q", c.Username)
		}
		return writeErr(err, what)
	}
	c.ID, c.UserAgent, c.Expires, c.UpdatedAt = id, ua, expires, updated
	return nil
}

// DeleteContact removes the binding of (username, uri), if there is one.
func (s *Store) DeleteContact(ctx context.Context, username, uri string) error {
	cond, args := exact("username", username)
	_, err := s.q.ExecContext(ctx, `DELETE FROM sip_contacts WHERE uri_hash = ? AND user_id IN (SELECT id FROM users WHERE `+cond+`)`,
		append([]any{uriHash(uri)}, args...)...)
	return deleteErr(err, fmt.Sprintf("contact of user %q", username))
}

// DeleteContacts removes all bindings of the user and returns how many.
func (s *Store) DeleteContacts(ctx context.Context, username string) (int64, error) {
	cond, args := exact("username", username)
	return s.execCount(ctx, fmt.Sprintf("contacts of user %q", username),
		`DELETE FROM sip_contacts WHERE user_id IN (SELECT id FROM users WHERE `+cond+`)`, args...)
}

// ListContacts returns the user's bindings that expire after now, by ID.
func (s *Store) ListContacts(ctx context.Context, username string, now time.Time) ([]directory.Contact, error) {
	cond, args := exact("u.username", username)
	return s.contacts(ctx, selectContacts+` WHERE `+cond+` AND c.expires_at > ? ORDER BY c.id`,
		append(args, fmtTime(now))...)
}

// ListNodeContacts returns the unexpired bindings node received, by ID.
func (s *Store) ListNodeContacts(ctx context.Context, node string, now time.Time) ([]directory.Contact, error) {
	cond, args := exact("c.node", node)
	return s.contacts(ctx, selectContacts+` WHERE `+cond+` AND c.expires_at > ? ORDER BY c.id`,
		append(args, fmtTime(now))...)
}

// ExpireContacts deletes the bindings that expired at or before now and
// returns how many.
func (s *Store) ExpireContacts(ctx context.Context, now time.Time) (int64, error) {
	return s.execCount(ctx, "expired contacts", `DELETE FROM sip_contacts WHERE expires_at <= ?`, fmtTime(now))
}

// CountContacts counts the bindings that expire after now.
func (s *Store) CountContacts(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sip_contacts WHERE expires_at > ?`, fmtTime(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count contacts: %w", err)
	}
	return n, nil
}

func (s *Store) contacts(ctx context.Context, query string, args ...any) ([]directory.Contact, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list contacts: %w", err)
	}
	defer rows.Close()
	out := []directory.Contact{}
	for rows.Next() {
		var (
			c    directory.Contact
			cseq int64
		)
		if err := rows.Scan(&c.ID, &c.Username, &c.URI, &c.Source, &c.Instance, &c.CallID, &cseq,
			&c.UserAgent, &c.Node, scanTime(&c.Expires), scanTime(&c.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("store: read contact: %w", err)
		}
		c.CSeq = uint32(cseq)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list contacts: %w", err)
	}
	return out, nil
}

// updateOne runs an update of one row (what names it): ErrNotFound when no
// row matched (MySQL counts matched rows, see mustAffect).
func (s *Store) updateOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return writeErr(err, what)
	}
	return mustAffect(res, what)
}

// execCount runs a write and returns the rows it affected (on MySQL, with
// clientFoundRows, the rows it matched).
func (s *Store) execCount(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, writeErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return n, nil
}

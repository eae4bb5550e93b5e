package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/teamline/teamline/directory"
)

var _ directory.CellCodes = (*Store)(nil)

// Replacing a user's pending code is one upsert, keyed on the user: two
// codes sent at once leave one of them, whole.
const (
	putCellCodeMySQL = `INSERT INTO cell_codes (user_id, phone, code_hash, expires_at, attempts, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE phone = VALUES(phone), code_hash = VALUES(code_hash), expires_at = VALUES(expires_at),
	attempts = VALUES(attempts), created_at = VALUES(created_at)`
	putCellCodeSQLite = `INSERT INTO cell_codes (user_id, phone, code_hash, expires_at, attempts, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, code_hash = excluded.code_hash,
	expires_at = excluded.expires_at, attempts = excluded.attempts, created_at = excluded.created_at`
)

// PutCellCode replaces any pending code of c.User (ErrNotFound for an
// unknown user). The hash is kept as hex. A zero CreatedAt is the store's
// clock; ExpiresAt is required. A phone longer than 32 characters or a hash
// longer than 64 bytes is ErrTooLong.
func (s *Store) PutCellCode(ctx context.Context, c directory.CellCode) error {
	what := fmt.Sprintf("cell code of user %q", c.User)
	if c.ExpiresAt.IsZero() {
		return fmt.Errorf("store: %s: no expiry time", what)
	}
	created, _ := s.createStamps(c.CreatedAt, time.Time{})
	id, err := s.userID(ctx, c.User)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, s.dialect(putCellCodeMySQL, putCellCodeSQLite), id, c.Phone,
		hex.EncodeToString(c.Hash), fmtTime(c.ExpiresAt), c.Attempts, fmtTime(created))
	if kind, _ := classify(err); kind == errForeignKey {
		return notFound("user %q", c.User) // deleted meanwhile
	}
	return writeErr(err, what)
}

// GetCellCode returns the pending code of user: ErrNotFound for an unknown
// user or when there is none.
func (s *Store) GetCellCode(ctx context.Context, user string) (directory.CellCode, error) {
	c := directory.CellCode{User: user}
	var hash string
	cond, args := exact("u.username", user)
	err := s.q.QueryRowContext(ctx, `SELECT c.phone, c.code_hash, c.expires_at, c.attempts, c.created_at
		FROM cell_codes c JOIN users u ON u.id = c.user_id WHERE `+cond, args...).
		Scan(&c.Phone, &hash, scanTime(&c.ExpiresAt), &c.Attempts, scanTime(&c.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.userID(ctx, user); err != nil {
			return directory.CellCode{}, err
		}
		return directory.CellCode{}, notFound("cell code of user %q", user)
	}
	if err != nil {
		return directory.CellCode{}, fmt.Errorf("store: cell code of user %q: %w", user, err)
	}
	if hash == "" {
		return c, nil // no hash: nil, as it was put
	}
	if c.Hash, err = hex.DecodeString(hash); err != nil {
		return directory.CellCode{}, fmt.Errorf("store: cell code of user %q: bad hash: %w", user, err)
	}
	return c, nil
}

// CountCellCodeAttempt adds one wrong attempt to user's pending code and
// returns the new count: the increment and the read are one transaction,
// which holds the row's lock from the increment on, so of n concurrent
// attempts each gets its own count, 1 to n. ErrNotFound for an unknown
// user or when there is no code.
func (s *Store) CountCellCodeAttempt(ctx context.Context, user string) (int, error) {
	what := fmt.Sprintf("cell code of user %q", user)
	var n int
	err := s.atomic(ctx, func(q *queries) error {
		id, err := q.userID(ctx, user)
		if err != nil {
			return err
		}
		res, err := q.q.ExecContext(ctx, `UPDATE cell_codes SET attempts = attempts + 1 WHERE user_id = ?`, id)
		if err != nil {
			return writeErr(err, what)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		if err := q.q.QueryRowContext(ctx, `SELECT attempts FROM cell_codes WHERE user_id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		return nil
	})
	return n, err
}

// DeleteCellCode removes the pending code of user, if any (ErrNotFound
// for an unknown user). Deleting the user deletes the code too.
func (s *Store) DeleteCellCode(ctx context.Context, user string) error {
	id, err := s.userID(ctx, user)
	if err != nil {
		return err
	}
	if _, err := s.q.ExecContext(ctx, `DELETE FROM cell_codes WHERE user_id = ?`, id); err != nil {
		return deleteErr(err, fmt.Sprintf("cell code of user %q", user))
	}
	return nil
}

package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/teamline/teamline/directory"
)

const selectTokens = `SELECT t.id, t.name, u.username, t.prefix, t.created_at, t.last_used_at, t.expires_at
FROM api_tokens t JOIN users u ON u.id = t.user_id`

func (q *queries) tokens(ctx context.Context, query string, args ...any) ([]directory.Token, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	out := []directory.Token{}
	for rows.Next() {
		var t directory.Token
		if err := rows.Scan(&t.ID, &t.Name, &t.User, &t.Prefix, scanTime(&t.CreatedAt),
			scanNullTime(&t.LastUsedAt), scanNullTime(&t.ExpiresAt)); err != nil {
			return nil, fmt.Errorf("store: read token: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// CreateToken stores t with the hash of its secret (kept as hex) and sets
// t.ID and t.CreatedAt.
func (q *queries) CreateToken(ctx context.Context, t *directory.Token, hash []byte) error {
	what := fmt.Sprintf("token %q", t.Name)
	return q.atomic(ctx, func(q *queries) error {
		user, err := q.userID(ctx, t.User)
		if err != nil {
			return err
		}
		created, _ := q.createStamps(t.CreatedAt, time.Time{})
		res, err := q.q.ExecContext(ctx, `INSERT INTO api_tokens
			(name, user_id, prefix, token_hash, created_at, last_used_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.Name, user, t.Prefix, hex.EncodeToString(hash),
			fmtTime(created), fmtNullTime(t.LastUsedAt), fmtNullTime(t.ExpiresAt))
		if err != nil {
			return writeErr(err, what)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		t.ID, t.CreatedAt = id, created
		t.LastUsedAt, t.ExpiresAt = roundTime(t.LastUsedAt), roundTime(t.ExpiresAt)
		return nil
	})
}

// roundTime is t as it reads back from the database.
func roundTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	r := dbTime(*t)
	return &r
}

// ListTokens lists the tokens of a user ("" = all users) by ID.
func (q *queries) ListTokens(ctx context.Context, user string) ([]directory.Token, error) {
	if user == "" {
		return q.tokens(ctx, selectTokens+` ORDER BY t.id`)
	}
	cond, args := exact("u.username", user)
	return q.tokens(ctx, selectTokens+` WHERE `+cond+` ORDER BY t.id`, args...)
}

// GetTokenByHash returns the token whose secret hashes to hash. It does not
// check expiry.
func (q *queries) GetTokenByHash(ctx context.Context, hash []byte) (directory.Token, error) {
	ts, err := q.tokens(ctx, selectTokens+` WHERE t.token_hash = ?`, hex.EncodeToString(hash))
	if err != nil {
		return directory.Token{}, err
	}
	if len(ts) == 0 {
		return directory.Token{}, notFound("token")
	}
	return ts[0], nil
}

// TouchToken records that the token was used at at.
func (q *queries) TouchToken(ctx context.Context, id int64, at time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, fmtTime(at), id)
	if err != nil {
		return busyErr(fmt.Errorf("store: touch token %d: %w", id, err), fmt.Sprintf("token %d", id))
	}
	return mustAffect(res, fmt.Sprintf("token %d", id))
}

// DeleteToken deletes the token.
func (q *queries) DeleteToken(ctx context.Context, id int64) error {
	what := fmt.Sprintf("token %d", id)
	res, err := q.q.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

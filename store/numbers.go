package store

import (
	"context"
	"fmt"

	"github.com/teamline/teamline/directory"
)

const selectNumbers = `SELECT n.id, n.e164, n.kind, n.role, COALESCE(u.username, ''), n.label, n.trunk,
	n.created_at, n.updated_at
FROM numbers n LEFT JOIN users u ON u.id = n.owner_id`

func (q *queries) numbers(ctx context.Context, query string, args ...any) ([]directory.Number, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list numbers: %w", err)
	}
	defer rows.Close()
	out := []directory.Number{}
	for rows.Next() {
		var n directory.Number
		if err := rows.Scan(&n.ID, &n.E164, &n.Kind, &n.Role, &n.Owner, &n.Label, &n.Trunk,
			scanTime(&n.CreatedAt), scanTime(&n.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("store: read number: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list numbers: %w", err)
	}
	return out, nil
}

// ListNumbers lists numbers by ID. An Owner that is no user matches nothing.
func (q *queries) ListNumbers(ctx context.Context, f directory.NumberFilter) ([]directory.Number, error) {
	query, args := selectNumbers+` WHERE n.id > ?`, []any{f.After}
	if f.Kind != "" {
		cond, a := exact("n.kind", string(f.Kind))
		query, args = query+` AND `+cond, append(args, a...)
	}
	if f.Role != "" {
		cond, a := exact("n.role", f.Role)
		query, args = query+` AND `+cond, append(args, a...)
	}
	if f.Owner != "" {
		owner, err := q.userID(ctx, f.Owner)
		if err != nil {
			if isNotFound(err) {
				return []directory.Number{}, nil
			}
			return nil, err
		}
		query, args = query+` AND n.owner_id = ?`, append(args, owner)
	}
	query, args = pageSQL(query, "n.id", f.Page, args)
	return q.numbers(ctx, query, args...)
}

// GetNumber returns the number with the ID.
func (q *queries) GetNumber(ctx context.Context, id int64) (directory.Number, error) {
	ns, err := q.numbers(ctx, selectNumbers+` WHERE n.id = ?`, id)
	if err != nil {
		return directory.Number{}, err
	}
	if len(ns) == 0 {
		return directory.Number{}, notFound("number %d", id)
	}
	return ns[0], nil
}

// GetNumberByE164 returns the number with exactly this E.164.
func (q *queries) GetNumberByE164(ctx context.Context, e164 string) (directory.Number, error) {
	cond, args := exact("n.e164", e164)
	ns, err := q.numbers(ctx, selectNumbers+` WHERE `+cond, args...)
	if err != nil {
		return directory.Number{}, err
	}
	if len(ns) == 0 {
		return directory.Number{}, notFound("number %q", e164)
	}
	return ns[0], nil
}

func (q *queries) numberArgs(ctx context.Context, n *directory.Number) ([]any, error) {
	var owner int64
	if n.Owner != "" {
		id, err := q.userID(ctx, n.Owner)
		if err != nil {
			return nil, err
		}
		owner = id
	}
	return []any{n.E164, string(n.Kind), n.Role, nullID(owner), n.Label, n.Trunk}, nil
}

// CreateNumber inserts n and sets its ID and times.
func (q *queries) CreateNumber(ctx context.Context, n *directory.Number) error {
	what := fmt.Sprintf("number %q", n.E164)
	return q.atomic(ctx, func(q *queries) error {
		args, err := q.numberArgs(ctx, n)
		if err != nil {
			return err
		}
		created, updated := q.createStamps(n.CreatedAt, n.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `INSERT INTO numbers
			(e164, kind, role, owner_id, label, trunk, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, append(args, fmtTime(created), fmtTime(updated))...)
		if err != nil {
			return writeErr(err, what)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		n.ID, n.CreatedAt, n.UpdatedAt = id, created, updated
		return nil
	})
}

// UpdateNumber replaces the number with ID n.ID and sets n.UpdatedAt.
func (q *queries) UpdateNumber(ctx context.Context, n *directory.Number) error {
	what := fmt.Sprintf("number %d", n.ID)
	return q.atomic(ctx, func(q *queries) error {
		args, err := q.numberArgs(ctx, n)
		if err != nil {
			return err
		}
		updated := q.updateStamp(n.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `UPDATE numbers SET e164 = ?, kind = ?, role = ?, owner_id = ?,
			label = ?, trunk = ?, updated_at = ? WHERE id = ?`, append(args, fmtTime(updated), n.ID)...)
		if err != nil {
			return writeErr(err, what)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		n.UpdatedAt = updated
		return nil
	})
}

// DeleteNumber deletes the number; users who had it as their default number
// fall back to the account default.
func (q *queries) DeleteNumber(ctx context.Context, id int64) error {
	what := fmt.Sprintf("number %d", id)
	res, err := q.q.ExecContext(ctx, `DELETE FROM numbers WHERE id = ?`, id)
	if err != nil {
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

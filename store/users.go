package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/teamline/teamline/directory"
)

const selectUsers = `SELECT u.id, u.username, u.name, u.email, u.role, u.cell_phone, u.cell_verified,
	u.dialer_access, COALESCE(n.e164, ''), u.sip_realm, u.sip_ha1_md5, u.sip_ha1_sha256,
	u.created_at, u.updated_at
FROM users u LEFT JOIN numbers n ON n.id = u.default_number_id`

func (q *queries) users(ctx context.Context, query string, args ...any) ([]directory.User, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	out := []directory.User{}
	for rows.Next() {
		var (
			u               directory.User
			realm, md5, sha sql.NullString
		)
		if err := rows.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Role, &u.CellPhone,
			&u.CellVerified, &u.DialerAccess, &u.DefaultNumber, &realm, &md5, &sha,
			scanTime(&u.CreatedAt), scanTime(&u.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("store: read user: %w", err)
		}
		if realm.Valid {
			u.SIP = &directory.SIPCredential{Realm: realm.String, HA1MD5: md5.String, HA1SHA256: sha.String}
		}
		u.SIPEnabled = u.SIP != nil
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// ListUsers lists users by ID.
func (q *queries) ListUsers(ctx context.Context, p directory.Page) ([]directory.User, error) {
	query, args := pageSQL(selectUsers+` WHERE u.id > ?`, "u.id", p, []any{p.After})
	return q.users(ctx, query, args...)
}

// GetUser returns the user with the ID.
func (q *queries) GetUser(ctx context.Context, id int64) (directory.User, error) {
	us, err := q.users(ctx, selectUsers+` WHERE u.id = ?`, id)
	if err != nil {
		return directory.User{}, err
	}
	if len(us) == 0 {
		return directory.User{}, notFound("user %d", id)
	}
	return us[0], nil
}

// GetUserByUsername returns the user with exactly this username.
func (q *queries) GetUserByUsername(ctx context.Context, username string) (directory.User, error) {
	cond, args := exact("u.username", username)
	us, err := q.users(ctx, selectUsers+` WHERE `+cond, args...)
	if err != nil {
		return directory.User{}, err
	}
	if len(us) == 0 {
		return directory.User{}, notFound("user %q", username)
	}
	return us[0], nil
}

// userArgs are the values of the columns CreateUser and UpdateUser write, in
// userColumns order.
func (q *queries) userArgs(ctx context.Context, u *directory.User) ([]any, error) {
	var defaultNumber int64
	if u.DefaultNumber != "" {
		id, err := q.numberID(ctx, u.DefaultNumber)
		if err != nil {
			return nil, err
		}
		defaultNumber = id
	}
	var realm, md5, sha any
	if u.SIP != nil {
		realm, md5, sha = u.SIP.Realm, u.SIP.HA1MD5, u.SIP.HA1SHA256
	}
	return []any{u.Username, u.Name, u.Email, string(u.Role), u.CellPhone, u.CellVerified,
		u.DialerAccess, nullID(defaultNumber), realm, md5, sha}, nil
}

var userColumns = []string{"username", "name", "email", "role", "cell_phone", "cell_verified",
	"dialer_access", "default_number_id", "sip_realm", "sip_ha1_md5", "sip_ha1_sha256"}

// CreateUser inserts u and sets its ID and times. u.SIPPassword is ignored:
// only u.SIP is stored.
func (q *queries) CreateUser(ctx context.Context, u *directory.User) error {
	what := fmt.Sprintf("user %q", u.Username)
	return q.atomic(ctx, func(q *queries) error {
		args, err := q.userArgs(ctx, u)
		if err != nil {
			return err
		}
		created, updated := q.createStamps(u.CreatedAt, u.UpdatedAt)
		args = append(args, fmtTime(created), fmtTime(updated))
		res, err := q.q.ExecContext(ctx, `INSERT INTO users (`+strings.Join(userColumns, ", ")+
			`, created_at, updated_at) VALUES (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return writeErr(err, what)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		u.ID, u.CreatedAt, u.UpdatedAt, u.SIPEnabled = id, created, updated, u.SIP != nil
		return nil
	})
}

// UpdateUser replaces the user with ID u.ID and sets u.UpdatedAt.
func (q *queries) UpdateUser(ctx context.Context, u *directory.User) error {
	what := fmt.Sprintf("user %d", u.ID)
	return q.atomic(ctx, func(q *queries) error {
		args, err := q.userArgs(ctx, u)
		if err != nil {
			return err
		}
		updated := q.updateStamp(u.UpdatedAt)
		args = append(args, fmtTime(updated), u.ID)
		res, err := q.q.ExecContext(ctx, `UPDATE users SET `+strings.Join(userColumns, " = ?, ")+
			` = ?, updated_at = ? WHERE id = ?`, args...)
		if err != nil {
			return writeErr(err, what)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		u.UpdatedAt, u.SIPEnabled = updated, u.SIP != nil
		return nil
	})
}

// DeleteUser deletes the user, their lead assignments and API tokens. A
// user who still owns a number or is in a rule is a conflict naming them.
func (q *queries) DeleteUser(ctx context.Context, id int64) error {
	what := fmt.Sprintf("user %d", id)
	res, err := q.q.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		if kind, _ := classify(err); kind == errForeignKey {
			if uses := q.userUses(ctx, id); uses != "" {
				return fmt.Errorf("%w: %s %s", directory.ErrConflict, what, uses)
			}
		}
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

// userUses says what keeps a user from being deleted, or "" if it cannot
// tell.
func (q *queries) userUses(ctx context.Context, id int64) string {
	var uses []string
	if nums := q.quotedList(ctx, `SELECT e164 FROM numbers WHERE owner_id = ? ORDER BY id`, id); len(nums) > 0 {
		uses = append(uses, "owns number "+strings.Join(nums, ", "))
	}
	if rules := q.quotedList(ctx, `SELECT DISTINCT r.name FROM rules r
		JOIN rule_agents ra ON ra.rule_id = r.id WHERE ra.user_id = ? ORDER BY r.name`, id); len(rules) > 0 {
		uses = append(uses, "is in rule "+strings.Join(rules, ", "))
	}
	return strings.Join(uses, " and ")
}

// quotedList returns the first column of a query's rows, quoted; nil on any error (it
// only decorates error messages).
func (q *queries) quotedList(ctx context.Context, query string, args ...any) []string {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if rows.Scan(&s) != nil {
			return nil
		}
		out = append(out, fmt.Sprintf("%q", s))
	}
	return out
}

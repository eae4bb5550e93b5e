package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

// querier is what *sql.DB and *sql.Tx have in common, so every query is
// written once and runs inside or outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements directory.Queries on a querier.
type queries struct {
	q querier
	// db is set outside a transaction: multi-statement writes then open
	// their own (see atomic). Inside InTx it is nil.
	db  *sql.DB
	now func() time.Time
	// driver is DriverSQLite or DriverMySQL, for the few statements that
	// differ (locking reads, upserts).
	driver string
	// log and gate are set outside a transaction. gate queues the
	// transactions of this process on a SQLite file (see writeGate); it is
	// nil on MySQL.
	log  *slog.Logger
	gate *sqliteGate
}

var _ directory.Queries = (*queries)(nil)

// The directory service stamps CreatedAt and UpdatedAt with its own clock;
// the store keeps what it is given and uses its clock only for zero times.

// createStamps returns the created and updated times of a new row.
func (q *queries) createStamps(created, updated time.Time) (time.Time, time.Time) {
	if created.IsZero() {
		created = q.now()
	}
	if updated.IsZero() {
		updated = created
	}
	return dbTime(created), dbTime(updated)
}

// updateStamp returns the updated time of a changed row.
func (q *queries) updateStamp(updated time.Time) time.Time {
	if updated.IsZero() {
		updated = q.now()
	}
	return dbTime(updated)
}

// dialect returns the statement for the store's driver.
func (q *queries) dialect(forMySQL, forSQLite string) string {
	if q.driver == DriverMySQL {
		return forMySQL
	}
	return forSQLite
}

// atomic runs fn in a transaction: the caller's (InTx) or a new one.
func (q *queries) atomic(ctx context.Context, fn func(*queries) error) error {
	if q.db == nil {
		return fn(q)
	}
	return runTx(ctx, q, fn)
}

// InTx runs fn in one transaction, committed if fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(q directory.Queries) error) error {
	return runTx(ctx, s.queries, func(q *queries) error { return fn(q) })
}

// runTx runs fn in a new transaction on base's pool, committed if fn
// returns nil.
func runTx(ctx context.Context, base *queries, fn func(*queries) error) error {
	if err := base.gate.enter(ctx); err != nil {
		return err
	}
	defer base.gate.leave()
	tx, err := base.db.BeginTx(ctx, nil)
	if err != nil {
		return busyErr(fmt.Errorf("store: begin: %w", err), "transaction")
	}
	done := false
	defer func() {
		if !done { // fn panicked
			_ = tx.Rollback()
		}
	}()
	err = fn(&queries{q: tx, now: base.now, driver: base.driver})
	done = true
	if err != nil {
		_ = tx.Rollback()
		// A deadlock or lock wait timeout may come from any statement of
		// fn, also from those whose errors are not mapped one by one.
		return busyErr(err, "transaction")
	}
	if err := tx.Commit(); err != nil {
		return busyErr(fmt.Errorf("store: commit: %w", err), "transaction")
	}
	return nil
}

// txAttempts is how often retryTx runs a transaction that MySQL rolled
// back to break a deadlock: the first run and three more.
const txAttempts = 4

// retryTx runs fn in a new transaction like runTx and, on MySQL, runs it
// again when InnoDB chose it as a deadlock's victim (error 1213): the
// server has then rolled back all of it, so nothing of the failed run
// remains and the same transaction will most likely pass. fn must
// therefore be safe to run again, and must return the store's errors
// (wrapped with %w) rather than swallow them. Inside a transaction the
// store does not own (q.db is nil) fn runs once: only the owner can retry.
//
// A lock wait timeout (1205) is not retried: it has already waited
// innodb_lock_wait_timeout, longer than a caller on the line can wait
// twice; it is returned as ErrBusy.
func (q *queries) retryTx(ctx context.Context, fn func(*queries) error) error {
	if q.db == nil {
		return fn(q)
	}
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, q, fn)
		if err == nil || attempt == txAttempts || !isDeadlock(err) {
			return err
		}
		q.log.Debug("store: transaction chosen as a deadlock victim, running it again", "attempt", attempt, "err", err)
		// A short random pause, so that the survivor of the deadlock
		// finishes first and two victims do not meet again.
		pause := time.NewTimer(rand.N(time.Duration(attempt) * 10 * time.Millisecond))
		select {
		case <-ctx.Done():
			pause.Stop()
			return err
		case <-pause.C:
		}
	}
}

// mustAffect turns "no row matched" into ErrNotFound. On MySQL it relies on
// clientFoundRows (matched, not changed, rows), which Open sets.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return notFound("%s", what)
	}
	return nil
}

// exact is a condition that col equals ? exactly, with its two args. On
// MySQL "=" pads trailing spaces ('a' = 'a '); LIKE does not, and on SQLite
// "=" is already exact (its LIKE alone would ignore ASCII case). Together
// they give the same exact match on both, and "=" still uses the index.
func exact(col, v string) (string, []any) {
	return "(" + col + " = ? AND " + col + " LIKE ? ESCAPE '!')", []any{v, likeEscape(v)}
}

// likeEscape quotes LIKE's wildcards with '!' (not '\', which MySQL string
// literals would swallow), so the pattern matches v literally.
func likeEscape(v string) string {
	return likeEscaper.Replace(v)
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// lookupID returns the id column of table where col equals key exactly.
func (q *queries) lookupID(ctx context.Context, table, col, key string) (int64, bool, error) {
	cond, args := exact(col, key)
	var id int64
	err := q.q.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE `+cond, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// userID maps a username to its row ID (ErrNotFound naming it).
func (q *queries) userID(ctx context.Context, username string) (int64, error) {
	id, ok, err := q.lookupID(ctx, "users", "username", username)
	if err != nil {
		return 0, fmt.Errorf("store: find user %q: %w", username, err)
	}
	if !ok {
		return 0, notFound("user %q", username)
	}
	return id, nil
}

// userIDs maps usernames to their row IDs with one query per batch, or
// returns ErrNotFound naming the first of names that is no user.
func (q *queries) userIDs(ctx context.Context, names []string) (map[string]int64, error) {
	ids := make(map[string]int64, len(names))
	err := forBatches(names, func(in string, args []any) error {
		return q.each(ctx, `SELECT username, id FROM users WHERE username IN (`+in+`)`, args, func(r *sql.Rows) error {
			var (
				name string
				id   int64
			)
			if err := r.Scan(&name, &id); err != nil {
				return err
			}
			// Keyed by the stored name: a name that MySQL's IN matched
			// only by ignoring trailing spaces is missing below.
			ids[name] = id
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: find users: %w", err)
	}
	for _, n := range names {
		if _, ok := ids[n]; !ok {
			return nil, notFound("user %q", n)
		}
	}
	return ids, nil
}

// numberID maps an E.164 number to its row ID (ErrNotFound naming it).
func (q *queries) numberID(ctx context.Context, e164 string) (int64, error) {
	id, ok, err := q.lookupID(ctx, "numbers", "e164", e164)
	if err != nil {
		return 0, fmt.Errorf("store: find number %q: %w", e164, err)
	}
	if !ok {
		return 0, notFound("number %q", e164)
	}
	return id, nil
}

// inBatch is how many IDs go into one IN (...) list, and how many rows into
// one INSERT: far below SQLite's 32766 and MySQL's 65535 placeholders.
const inBatch = 500

// forBatches calls fn with "?, ?, ..." and the args for each batch of
// values.
func forBatches[T any](values []T, fn func(placeholders string, args []any) error) error {
	for len(values) > 0 {
		n := min(len(values), inBatch)
		args := make([]any, n)
		for i, v := range values[:n] {
			args[i] = v
		}
		if err := fn(placeholders(n), args); err != nil {
			return err
		}
		values = values[n:]
	}
	return nil
}

// insertRows runs "head VALUES (...), (...)" for args, cols of them a row,
// in statements of at most inBatch rows: one statement takes at most 32766
// placeholders on SQLite and 65535 on MySQL.
func (q *queries) insertRows(ctx context.Context, head string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, inBatch)
		if _, err := q.q.ExecContext(ctx, head+" VALUES "+rowsSQL(cols, n), args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

// rowsSQL is "(?, ?), (?, ?)" for n rows of cols columns.
func rowsSQL(cols, n int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// pageSQL appends the ORDER BY and LIMIT of a page to a query whose WHERE
// already holds "<col> > ?".
func pageSQL(query, col string, p directory.Page, args []any) (string, []any) {
	query += " ORDER BY " + col
	if p.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, p.Limit)
	}
	return query, args
}

// clampLimit is limit within (0, most], def for 0 or less.
func clampLimit(limit, def, most int) int {
	switch {
	case limit <= 0:
		return def
	case limit > most:
		return most
	}
	return limit
}

// nullID is NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }

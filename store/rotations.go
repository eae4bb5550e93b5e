package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/teamline/teamline/router"
)

var (
	_ router.Store = (*Store)(nil)
	_ router.Tx    = (*queries)(nil)
)

// RouteTx runs fn in one transaction, committed if fn returns nil: the
// lead a routing decision creates, the rotation positions it takes and the
// inbox entry it writes commit together or not at all.
//
// On MySQL, when InnoDB breaks a deadlock by rolling this transaction back,
// RouteTx runs fn again in a new transaction, up to three more times (see
// retryTx). fn must be safe to run again: it must set anew, not
// accumulate, whatever it fills in (a lead's ID, a pick), and must return
// the errors of the Tx's methods wrapped with %w, never swallow them (after
// a deadlock the transaction is gone and later statements would run
// outside it).
//
// On SQLite the transaction takes the database's write lock when it begins
// (the store opens SQLite with _txlock=immediate unless the DSN says
// otherwise), so concurrent RouteTx calls, also from other processes,
// wait for each other up to the busy timeout instead of failing with
// SQLITE_BUSY halfway.
func (s *Store) RouteTx(ctx context.Context, fn func(router.Tx) error) error {
	return s.retryTx(ctx, func(q *queries) error { return fn(q) })
}

// AdvanceRotation returns the position of the rule's pool and stores the
// next one. When roundKey differs from the stored key (the rule's agents
// or their shares changed), or the pool has no position yet, the count
// restarts: it returns 0 and stores 1 with roundKey. An unknown rule is
// ErrNotFound.
//
// Exactness under concurrency, also between gateways sharing the database:
//   - MySQL: the row is read with SELECT ... FOR UPDATE and written back
//     under that row lock, so a second transaction waits for the first to
//     commit and then reads its position. A pool's first position creates
//     the row with INSERT ... ON DUPLICATE KEY UPDATE, which, for a row
//     another transaction has just inserted, waits for that row's lock
//     instead of failing; the row is then read and written like any other.
//     Only the primary key is unique, so the waits are on records, not
//     gaps; a deadlock that happens nevertheless (under REPEATABLE READ set
//     in the DSN, say) rolls back the whole transaction, which RouteTx runs
//     again.
//   - SQLite: one write transaction at a time, from its BEGIN (IMMEDIATE).
func (q *queries) AdvanceRotation(ctx context.Context, ruleID int64, pool, roundKey string) (uint64, error) {
	what := fmt.Sprintf("%s rotation of rule %d", pool, ruleID)
	if err := checkPool(pool); err != nil {
		return 0, err
	}
	var pos uint64
	err := q.retryTx(ctx, func(q *queries) error {
		key, p, found, err := q.rotation(ctx, ruleID, pool, true)
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		if !found {
			// The pool's first turn: create its row at position 0 and
			// take it like any other. Another gateway may be doing the
			// same: then this waits for its row and takes the next
			// position (MySQL), or finds it there (SQLite, where the
			// write lock is held since BEGIN anyway).
			if _, err := q.q.ExecContext(ctx, q.dialect(insertRotationMySQL, insertRotationSQLite),
				ruleID, pool, roundKey, fmtTime(q.now())); err != nil {
				if kind, _ := classify(err); kind == errForeignKey {
					return notFound("rule %d", ruleID)
				}
				return writeErr(err, what)
			}
			if key, p, found, err = q.rotation(ctx, ruleID, pool, true); err != nil {
				return fmt.Errorf("store: %s: %w", what, err)
			}
			if !found { // the insert holds the row until commit
				return fmt.Errorf("store: %s: row missing after insert", what)
			}
		}
		if key != roundKey {
			p = 0
		}
		if _, err := q.q.ExecContext(ctx, `UPDATE rule_rotations SET round_key = ?, position = ?, updated_at = ?
			WHERE rule_id = ? AND pool = ?`, roundKey, p+1, fmtTime(q.now()), ruleID, pool); err != nil {
			return writeErr(err, what)
		}
		pos = uint64(p)
		return nil
	})
	return pos, err
}

// The row of a pool's first turn, at position 0 (AdvanceRotation then
// takes it). On MySQL a duplicate is a no-op update, which still takes the
// row's exclusive lock, waiting for the transaction that inserted it.
const (
	insertRotationMySQL = `INSERT INTO rule_rotations (rule_id, pool, round_key, position, updated_at)
		VALUES (?, ?, ?, 0, ?) ON DUPLICATE KEY UPDATE position = position`
	insertRotationSQLite = `INSERT INTO rule_rotations (rule_id, pool, round_key, position, updated_at)
		VALUES (?, ?, ?, 0, ?) ON CONFLICT (rule_id, pool) DO NOTHING`
)

// PeekRotation returns the position AdvanceRotation would return next: 0
// when the pool has no position yet or roundKey differs from the stored
// key. It writes nothing (explain).
func (s *Store) PeekRotation(ctx context.Context, ruleID int64, pool, roundKey string) (uint64, error) {
	if err := checkPool(pool); err != nil {
		return 0, err
	}
	key, p, found, err := s.rotation(ctx, ruleID, pool, false)
	if err != nil {
		return 0, fmt.Errorf("store: %s rotation of rule %d: %w", pool, ruleID, err)
	}
	if !found || key != roundKey {
		return 0, nil
	}
	return uint64(p), nil
}

// rotation reads the round key and position of the rule's pool; lock
// reads it FOR UPDATE on MySQL: the latest committed row, locked until the
// transaction ends (a plain read could return the transaction's older
// snapshot under REPEATABLE READ). The key is compared in Go, byte for
// byte: MySQL's "=" would ignore trailing spaces.
func (q *queries) rotation(ctx context.Context, ruleID int64, pool string, lock bool) (key string, pos int64, found bool, err error) {
	query := `SELECT round_key, position FROM rule_rotations WHERE rule_id = ? AND pool = ?`
	if lock {
		query += q.dialect(` FOR UPDATE`, ``)
	}
	err = q.q.QueryRowContext(ctx, query, ruleID, pool).Scan(&key, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, err
	}
	return key, pos, true, nil
}

// checkPool accepts pool names made of a-z, 0-9 and '_', of at most 16
// bytes (router.PoolAgents, router.PoolLenders). Pools are chosen by code,
// not by users; the limit keeps MySQL's key comparison, which ignores
// trailing spaces, from telling pools apart differently than SQLite's.
func checkPool(pool string) error {
	ok := pool != "" && len(pool) <= 16
	for _, c := range []byte(pool) {
		ok = ok && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_')
	}
	if !ok {
		return fmt.Errorf("store: rotation pool %q: want 1 to 16 of a-z, 0-9 and _", pool)
	}
	return nil
}

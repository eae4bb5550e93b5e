package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// rule creates an auto-assign rule of alice and bob (both must exist).
func rule(t testing.TB, s *store.Store, name string) directory.Rule {
	t.Helper()
	r := directory.Rule{Name: name, Active: true, Distribution: directory.DistAutoAssign,
		Criteria: directory.Criteria{Cities: []string{"Austin"}},
		Agents:   []directory.RuleAgent{{User: "alice", LeadsPerRound: 2}, {User: "bob", LeadsPerRound: 1}}}
	must(t, s.CreateRule(ctx, &r))
	return r
}

// advance takes the next position of the rule's pool the way the router
// does: in a routing transaction.
func advance(s *store.Store, ruleID int64, pool, key string) (uint64, error) {
	var pos uint64
	err := s.RouteTx(ctx, func(tx router.Tx) error {
		p, err := tx.AdvanceRotation(ctx, ruleID, pool, key)
		pos = p
		return err
	})
	return pos, err
}

func TestRotation(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		r1, r2 := rule(t, s, "r1").ID, rule(t, s, "r2").ID
		const agents, lenders = router.PoolAgents, router.PoolLenders
		for _, step := range []struct {
			name      string
			peek      bool
			rule      int64
			pool, key string
			want      uint64
		}{
			{"peek before the first turn", true, r1, agents, "k1", 0},
			{"first turn", false, r1, agents, "k1", 0},
			{"peek shows the next position", true, r1, agents, "k1", 1},
			{"peek again: it did not advance", true, r1, agents, "k1", 1},
			{"second turn", false, r1, agents, "k1", 1},
			{"third turn", false, r1, agents, "k1", 2},
			{"the lenders turn on their own", false, r1, lenders, "k1", 0},
			{"so does another rule", false, r2, agents, "k1", 0},
			{"the agents did not move", true, r1, agents, "k1", 3},
			{"peek with a new key: a new round", true, r1, agents, "k2", 0},
			{"the old key still counts on", true, r1, agents, "k1", 3},
			{"a new key restarts the count", false, r1, agents, "k2", 0},
			{"and counts on", false, r1, agents, "k2", 1},
			{"the old key back: restarts again", false, r1, agents, "k1", 0},
			{"a key differing in a trailing space is another key", false, r1, agents, "k1 ", 0},
			{"and in case", false, r1, agents, "K1 ", 0},
			{"the other pool kept its count", false, r1, lenders, "k1", 1},
			{"peek of an unknown rule", true, 1 << 40, agents, "k1", 0},
		} {
			var got uint64
			if step.peek {
				got = get(s.PeekRotation(ctx, step.rule, step.pool, step.key))(t)
			} else {
				got = get(advance(s, step.rule, step.pool, step.key))(t)
			}
			if got != step.want {
				t.Errorf("%s: position %d, want %d", step.name, got, step.want)
			}
		}
	})
}

func TestRotationErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		r := rule(t, s, "r")
		_, err := advance(s, r.ID+1, router.PoolAgents, "k")
		isErr(t, err, directory.ErrNotFound, fmt.Sprint("rule ", r.ID+1))
		for _, pool := range []string{"", "Agents", "agents ", "seventeen_chars__"} {
			if _, err := advance(s, r.ID, pool, "k"); err == nil {
				t.Errorf("pool %q: no error", pool)
			}
			if _, err := s.PeekRotation(ctx, r.ID, pool, "k"); err == nil {
				t.Errorf("peek of pool %q: no error", pool)
			}
		}
		_, err = advance(s, r.ID, router.PoolAgents, strings.Repeat("k", 65))
		isErr(t, err, store.ErrTooLong, "round_key")

		// Deleting the rule deletes its rotations.
		same(t, "position", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(0))
		must(t, s.DeleteRule(ctx, r.ID))
		var rows int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM rule_rotations").Scan(&rows))
		same(t, "rotation rows after the rule", rows, 0)
	})
}

// A routing transaction that fails takes no position and leaves no inbox
// entry: the next decision gets the position the failed one had.
func TestRouteTxRollsBack(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		r := rule(t, s, "r")
		same(t, "first", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(0))
		failed := errors.New("the decision failed")
		runs := 0
		err := s.RouteTx(ctx, func(tx router.Tx) error {
			runs++
			p, err := tx.AdvanceRotation(ctx, r.ID, router.PoolAgents, "k")
			if err != nil {
				return err
			}
			same(t, "position inside", p, uint64(1))
			l := directory.Lead{Name: "New", Phones: []string{"+15125550100"}}
			if err := tx.CreateLead(ctx, &l); err != nil {
				return err
			}
			if err := tx.AddInbox(ctx, &router.InboxEntry{Kind: router.KindCall, From: "+15125550100"}); err != nil {
				return err
			}
			return fmt.Errorf("route: %w", failed)
		})
		if !errors.Is(err, failed) {
			t.Fatalf("RouteTx: %v, want %v", err, failed)
		}
		same(t, "runs of a transaction that failed for its own reasons", runs, 1)
		same(t, "peek after the failure", get(s.PeekRotation(ctx, r.ID, router.PoolAgents, "k"))(t), uint64(1))
		same(t, "next", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(1))
		same(t, "inbox", get(s.ListInbox(ctx, router.InboxFilter{}))(t), []router.InboxEntry{})
		same(t, "leads", get(s.CountLeads(ctx))(t), int64(0))
	})
}

// The router's transaction: a new lead and its rotation step, together.
func TestRouteTxCreatesLead(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		r := rule(t, s, "r")
		var l directory.Lead
		must(t, s.RouteTx(ctx, func(tx router.Tx) error {
			p, err := tx.AdvanceRotation(ctx, r.ID, router.PoolAgents, "k")
			if err != nil {
				return err
			}
			l = directory.Lead{Name: "Caller", Phones: []string{"+15125550100"}, Source: router.SourceInboundCall,
				Type: directory.LeadBuyer, Agents: map[string]string{"buyer": []string{"alice", "bob"}[p]}}
			return tx.CreateLead(ctx, &l)
		}))
		same(t, "lead", get(s.GetLeadByPhone(ctx, "+15125550100"))(t), l)
		same(t, "agent", l.Agents["buyer"], "alice")
	})
}

// checkPositions checks that the positions got, one list per worker, are
// 0..n-1 each exactly once, and that each worker's rise.
func checkPositions(t *testing.T, got [][]uint64, n int) {
	t.Helper()
	var all []uint64
	for i, ps := range got {
		if !slices.IsSorted(ps) {
			t.Errorf("worker %d got positions out of order", i)
		}
		all = append(all, ps...)
	}
	slices.Sort(all)
	if len(all) != n {
		t.Errorf("%d positions, want %d", len(all), n)
	}
	for i, p := range all {
		if p != uint64(i) {
			t.Fatalf("sorted positions: [%d] = %d: a position twice or one skipped (%v ...)", i, p, all[max(0, i-3):min(len(all), i+3)])
		}
	}
}

// Two gateways on one database, eight routing goroutines between them,
// all starting on a pool with no position yet: every position is taken
// exactly once, none is skipped.
func TestRotationConcurrent(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := storetest.DSN(t, d)
			gw1 := storetest.OpenDSN(t, d, dsn)
			get(gw1.Migrate(ctx))(t)
			gw2 := storetest.OpenDSN(t, d, dsn)
			user(t, gw1, "alice")
			user(t, gw1, "bob")
			r := rule(t, gw1, "r")

			const workers, each = 8, 200
			got := make([][]uint64, workers)
			collect(t, workers, func(i int) error {
				s := []*store.Store{gw1, gw2}[i%2]
				for range each {
					p, err := advance(s, r.ID, router.PoolAgents, "k")
					if err != nil {
						return err
					}
					got[i] = append(got[i], p)
				}
				return nil
			})
			checkPositions(t, got, workers*each)
			t.Logf("turns taken while another worker was between two of its own: %d of %d", interleaved(got), workers*each)
			same(t, "next position", get(gw2.PeekRotation(ctx, r.ID, router.PoolAgents, "k"))(t), uint64(workers*each))
		})
	}
}

// When InnoDB picks a routing transaction as a deadlock's victim, RouteTx
// runs it again: the decision succeeds, and the positions it takes are
// those after the other transaction, none skipped.
func TestRouteTxRetriesDeadlock(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.DriverMySQL)
	user(t, s, "alice")
	user(t, s, "bob")
	r1, r2 := rule(t, s, "r1").ID, rule(t, s, "r2").ID
	for _, r := range []int64{r1, r2} {
		same(t, "first turn", get(advance(s, r, router.PoolAgents, "k"))(t), uint64(0))
	}

	// Another writer, heavier than the routing transaction (so that InnoDB
	// rolls back the routing one), holds r2's row.
	other, err := s.DB().BeginTx(ctx, nil)
	must(t, err)
	defer other.Rollback()
	for i := range 20 {
		_, err := other.ExecContext(ctx, `INSERT INTO inbox (at, kind, from_number, to_number, call_id, reason,
			forward_to, done, done_by) VALUES ('2025-01-01 00:00:00', 'call', ?, '', '', '', '', 0, '')`, fmt.Sprint(i))
		must(t, err)
	}
	lockRow := func(rule int64) error {
		var pos int64
		return other.QueryRowContext(ctx, `SELECT position FROM rule_rotations WHERE rule_id = ? AND pool = ? FOR UPDATE`,
			rule, router.PoolAgents).Scan(&pos)
	}
	must(t, lockRow(r2))

	// The routing transaction takes r1, then waits for r2.
	var (
		runs       int
		got1, got2 uint64
		tookR1     = make(chan struct{})
		done       = make(chan error)
	)
	go func() {
		done <- s.RouteTx(ctx, func(tx router.Tx) error {
			runs++
			p1, err := tx.AdvanceRotation(ctx, r1, router.PoolAgents, "k")
			if err != nil {
				return err
			}
			if runs == 1 {
				close(tookR1)
			}
			p2, err := tx.AdvanceRotation(ctx, r2, router.PoolAgents, "k")
			got1, got2 = p1, p2
			return err
		})
	}()
	<-tookR1
	waitForLockWait(t, s)
	// Now the other writer wants r1: a deadlock, which InnoDB breaks by
	// rolling back the routing transaction; the other writer gets r1.
	must(t, lockRow(r1))
	must(t, other.Commit())
	must(t, <-done)
	same(t, "runs", runs, 2)
	same(t, "positions of the decision", []uint64{got1, got2}, []uint64{1, 1})
	for _, r := range []int64{r1, r2} {
		same(t, "next position", get(s.PeekRotation(ctx, r, router.PoolAgents, "k"))(t), uint64(2))
	}
}

// waitForLockWait returns once a transaction on s's database waits for a
// row lock.
func waitForLockWait(t *testing.T, s *store.Store) {
	t.Helper()
	for range 2000 {
		var n int
		must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.INNODB_TRX t
			JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`).Scan(&n))
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no transaction waits for a lock")
}

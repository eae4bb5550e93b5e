package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// collect runs n goroutines of fn and fails the test with every error.
func collect(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- fn(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Replacing the children of different leads at the same time must not
// deadlock: on MySQL's default REPEATABLE READ the DELETE of a lead's (absent)
// phones, tags or agents takes a gap lock that another lead's INSERT into the
// same gap waits for, and two such writers deadlock.
func TestConcurrentLeadUpdates(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		const n = 12
		leads := make([]directory.Lead, n)
		for i := range leads {
			leads[i] = lead(t, s, fmt.Sprint("lead ", i))
		}
		collect(t, n, func(i int) error {
			for k := range 5 {
				l := leads[i]
				l.Phones = []string{fmt.Sprintf("+1555%03d%04d", i, k)}
				l.Tags = []string{"tag", fmt.Sprint(k)}
				l.Agents = map[string]string{"buyer": "alice"}
				if err := s.UpdateLead(ctx, &l); err != nil {
					return err
				}
			}
			return nil
		})
		for i, l := range leads {
			same(t, "phones", get(s.GetLead(ctx, l.ID))(t).Phones, []string{fmt.Sprintf("+1555%03d%04d", i, 4)})
		}
	})
}

// The first settings write of a fresh database, by several managers at once
// in the same transaction shape as the directory's UpdateSettings (read,
// then write), must not deadlock.
func TestConcurrentFirstSettings(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		const n = 4
		// On MySQL all transactions have read before any writes, the
		// interleaving that deadlocks. SQLite runs write transactions one
		// at a time, so there they cannot all meet.
		var read sync.WaitGroup
		read.Add(n)
		collect(t, n, func(i int) error {
			return s.InTx(ctx, func(q directory.Queries) error {
				st, err := q.GetSettings(ctx)
				if err != nil {
					return err
				}
				if s.Driver() == store.DriverMySQL {
					read.Done()
					read.Wait()
				}
				st.RingTimeoutSeconds = 10 + i
				return q.PutSettings(ctx, st, time.Now())
			})
		})
		var rows int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM account_settings").Scan(&rows))
		same(t, "settings rows", rows, 1)
	})
}

// TestConcurrentWriters mixes every kind of write from many goroutines; on
// both backends all of them succeed (SQLite waits for its write lock).
func TestConcurrentWriters(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		const n = 8
		collect(t, n, func(i int) error {
			for k := range 4 {
				l := directory.Lead{Name: "L", Phones: []string{fmt.Sprintf("+1666%03d%04d", i, k)},
					Tags: []string{"a"}, Agents: map[string]string{"buyer": "alice", "seller": "bob"}}
				if err := s.CreateLead(ctx, &l); err != nil {
					return err
				}
				l.Tags, l.Agents = nil, map[string]string{"lender": "bob"}
				if err := s.UpdateLead(ctx, &l); err != nil {
					return err
				}
				r := directory.Rule{Name: fmt.Sprint("r", i, "-", k), Position: i*10 + k, Active: true,
					Distribution: directory.DistAutoAssign, Criteria: directory.Criteria{Cities: []string{"Austin"}},
					Agents: []directory.RuleAgent{{User: "alice", LeadsPerRound: 1}, {User: "bob", LeadsPerRound: 2}}}
				if err := s.CreateRule(ctx, &r); err != nil {
					return err
				}
				if err := s.InTx(ctx, func(q directory.Queries) error {
					r.Agents = r.Agents[:1]
					return q.UpdateRule(ctx, &r)
				}); err != nil {
					return err
				}
				if k%2 == 0 {
					if err := s.DeleteLead(ctx, l.ID); err != nil {
						return err
					}
					if err := s.DeleteRule(ctx, r.ID); err != nil {
						return err
					}
				}
				if _, err := s.ListLeads(ctx, directory.LeadFilter{Agent: "bob"}); err != nil {
					return err
				}
			}
			return nil
		})
		same(t, "leads", get(s.CountLeads(ctx))(t), int64(n*2))
	})
}

// isBusy checks a write that gave up waiting for a lock says so: ErrBusy,
// which is also directory.ErrUnavailable ("try again"), and no database
// jargon.
func isBusy(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrBusy) || !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("error %v; want store.ErrBusy and directory.ErrUnavailable", err)
	}
}

func TestBusySQLite(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "busy.db") + "?_pragma=busy_timeout(50)"
	s, err := store.Open(ctx, store.DriverSQLite, dsn)
	must(t, err)
	defer s.Close()
	get(s.Migrate(ctx))(t)
	l := lead(t, s, "L", "+15550000001")

	// Another writer holds the write lock longer than busy_timeout.
	tx, err := s.DB().BeginTx(ctx, nil)
	must(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, "UPDATE leads SET name = 'other' WHERE id = ?", l.ID)
	must(t, err)

	isBusy(t, s.CreateUser(ctx, &directory.User{Username: "alice", Role: directory.RoleAgent}))
	isBusy(t, s.DeleteLead(ctx, l.ID))
	isBusy(t, s.PutSettings(ctx, directory.DefaultSettings(), time.Now()))
	isBusy(t, s.InTx(ctx, func(q directory.Queries) error { return nil }))
}

func TestBusyMySQL(t *testing.T) {
	t.Parallel()
	cfg, err := mysql.ParseDSN(storetest.MySQLDSN(t))
	must(t, err)
	cfg.Params = map[string]string{"innodb_lock_wait_timeout": "1"}
	s, err := store.Open(ctx, store.DriverMySQL, cfg.FormatDSN())
	must(t, err)
	defer s.Close()
	get(s.Migrate(ctx))(t)
	l := lead(t, s, "L", "+15550000001")

	// Another writer holds the lead's row lock longer than
	// innodb_lock_wait_timeout.
	tx, err := s.DB().BeginTx(ctx, nil)
	must(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, "UPDATE leads SET name = 'other' WHERE id = ?", l.ID)
	must(t, err)

	l.Name = "mine"
	isBusy(t, s.UpdateLead(ctx, &l))
	isBusy(t, s.DeleteLead(ctx, l.ID))
	isBusy(t, s.InTx(ctx, func(q directory.Queries) error { return q.UpdateLead(ctx, &l) }))
}

package store_test

import (
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func cellCode(user, phone, code string, expires time.Time) directory.CellCode {
	h := sha256.Sum256([]byte(code))
	return directory.CellCode{User: user, Phone: phone, Hash: h[:], ExpiresAt: expires, CreatedAt: expires.Add(-10 * time.Minute)}
}

// stored is c as it reads back: times in UTC microseconds.
func stored(c directory.CellCode) directory.CellCode {
	c.ExpiresAt, c.CreatedAt = c.ExpiresAt.UTC().Truncate(time.Microsecond), c.CreatedAt.UTC().Truncate(time.Microsecond)
	return c
}

func TestCellCodes(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		_, err := s.GetCellCode(ctx, "alice")
		isErr(t, err, directory.ErrNotFound, `cell code of user "alice"`)

		a := cellCode("alice", "+15125550111", "123456", t0)
		must(t, s.PutCellCode(ctx, a))
		b := cellCode("bob", "+15125550122", "654321", t0.Add(time.Minute))
		must(t, s.PutCellCode(ctx, b))
		same(t, "alice's code", get(s.GetCellCode(ctx, "alice"))(t), stored(a))

		for want := 1; want <= 3; want++ {
			same(t, "attempts", get(s.CountCellCodeAttempt(ctx, "alice"))(t), want)
		}
		a.Attempts = 3
		same(t, "alice's code after 3 wrong codes", get(s.GetCellCode(ctx, "alice"))(t), stored(a))
		same(t, "bob's code untouched", get(s.GetCellCode(ctx, "bob"))(t), stored(b))

		// A new code replaces the old one, its wrong attempts included.
		a2 := cellCode("alice", "+15125550112", "111111", t0.Add(time.Hour))
		must(t, s.PutCellCode(ctx, a2))
		same(t, "alice's new code", get(s.GetCellCode(ctx, "alice"))(t), stored(a2))
		same(t, "attempts of the new code", get(s.CountCellCodeAttempt(ctx, "alice"))(t), 1)

		must(t, s.DeleteCellCode(ctx, "alice"))
		_, err = s.GetCellCode(ctx, "alice")
		isErr(t, err, directory.ErrNotFound, `cell code of user "alice"`)
		_, err = s.CountCellCodeAttempt(ctx, "alice")
		isErr(t, err, directory.ErrNotFound, `cell code of user "alice"`)
		must(t, s.DeleteCellCode(ctx, "alice")) // none: fine
		same(t, "bob's code still", get(s.GetCellCode(ctx, "bob"))(t), stored(b))
	})
}

func TestCellCodeErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		bob := user(t, s, "bob")
		must(t, s.PutCellCode(ctx, cellCode("bob", "+15125550122", "654321", t0)))
		// An exact match: not a user whose name differs in a trailing space.
		for _, name := range []string{"nobody", "bob "} {
			isErr(t, s.PutCellCode(ctx, cellCode(name, "+15125550100", "1", t0)), directory.ErrNotFound, "user")
			_, err := s.GetCellCode(ctx, name)
			isErr(t, err, directory.ErrNotFound, "user")
			_, err = s.CountCellCodeAttempt(ctx, name)
			isErr(t, err, directory.ErrNotFound, "user")
			isErr(t, s.DeleteCellCode(ctx, name), directory.ErrNotFound, "user")
		}
		isErr(t, s.PutCellCode(ctx, cellCode("bob", strings.Repeat("1", 33), "1", t0)), store.ErrTooLong, "phone")
		if err := s.PutCellCode(ctx, directory.CellCode{User: "bob", Phone: "+15125550122"}); err == nil {
			t.Error("a code without expiry was stored")
		}
		// The failed puts left bob's code alone.
		same(t, "bob's code", get(s.GetCellCode(ctx, "bob"))(t), stored(cellCode("bob", "+15125550122", "654321", t0)))

		// Deleting the user deletes the code.
		must(t, s.DeleteUser(ctx, bob.ID))
		var rows int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM cell_codes").Scan(&rows))
		same(t, "codes after the user", rows, 0)
		user(t, s, "bob")
		_, err := s.GetCellCode(ctx, "bob")
		isErr(t, err, directory.ErrNotFound, `cell code of user "bob"`)
	})
}

// Wrong codes entered at once are each counted: the counts returned are
// 1..n, each once, so a limit of n attempts holds.
func TestCellCodeAttemptsConcurrent(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		must(t, s.PutCellCode(ctx, cellCode("alice", "+15125550111", "123456", t0)))
		const n = 10
		var (
			mu     sync.Mutex
			counts []int
		)
		collect(t, n, func(int) error {
			c, err := s.CountCellCodeAttempt(ctx, "alice")
			mu.Lock()
			counts = append(counts, c)
			mu.Unlock()
			return err
		})
		slices.Sort(counts)
		same(t, "counts", counts, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		same(t, "attempts", get(s.GetCellCode(ctx, "alice"))(t).Attempts, n)
	})
}

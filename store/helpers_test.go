package store_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// clock is a test clock that starts at a time with nanoseconds and a zone,
// so the tests see the store truncate to microseconds and convert to UTC,
// and that advances a second on every reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// run runs fn against every test driver with a fresh store and clock. Each
// store is its own database, so the test and its subtests run in parallel.
func run(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, d, store.WithClock(newClock().Now)))
		})
	}
}

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// get unwraps a (value, error) result: get(s.GetUser(ctx, id))(t).
func get[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// isErr checks err wraps target and its message contains all of words.
func isErr(t testing.TB, err, target error, words ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func user(t testing.TB, s *store.Store, username string) directory.User {
	t.Helper()
	u := directory.User{Username: username, Name: "User " + username, Role: directory.RoleAgent}
	must(t, s.CreateUser(ctx, &u))
	return u
}

func number(t testing.TB, s *store.Store, e164, owner string) directory.Number {
	t.Helper()
	n := directory.Number{E164: e164, Kind: directory.KindRole, Role: "buyer"}
	if owner != "" {
		n = directory.Number{E164: e164, Kind: directory.KindPersonal, Owner: owner}
	}
	must(t, s.CreateNumber(ctx, &n))
	return n
}

func lead(t testing.TB, s *store.Store, name string, phones ...string) directory.Lead {
	t.Helper()
	l := directory.Lead{Name: name, Phones: phones}
	must(t, s.CreateLead(ctx, &l))
	return l
}

func ptr[T any](v T) *T { return &v }

// nasty are strings with SQL and LIKE metacharacters, quotes and Unicode
// that must round-trip exactly.
var nasty = []string{
	`'; DROP TABLE users; --`,
	`\`,
	`%`,
	`_`,
	`!`,
	`"double" and 'single' quotes`,
	`O'Brien \' \" \\ \n`,
	"Zoë Ünïcødé 名前 Ελληνικά",
	"emoji 😀🎉👩‍👩‍👧",
	"tab\tand\nnewline",
	"  spaces around  ",
}

// deadlockLog is a slog.Handler that counts the store's reports of a
// transaction run again after a MySQL deadlock.
type deadlockLog struct{ deadlocks atomic.Int32 }

func (h *deadlockLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *deadlockLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "deadlock") {
		h.deadlocks.Add(1)
	}
	return nil
}

func (h *deadlockLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *deadlockLog) WithGroup(string) slog.Handler      { return h }

package store_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

func TestMigrateIdempotent(t *testing.T) {
	// A fresh SQLite file: the first Migrate applies everything.
	s, err := store.Open(ctx, store.DriverSQLite, filepath.Join(t.TempDir(), "m.db"))
	must(t, err)
	defer s.Close()
	applied := get(s.Migrate(ctx))(t)
	if len(applied) == 0 || applied[0] != "00001_directory.sql" {
		t.Fatalf("first Migrate applied %v", applied)
	}

	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			s := storetest.Open(t, d) // migrated once
			for range 2 {
				if again := get(s.Migrate(ctx))(t); len(again) != 0 {
					t.Fatalf("Migrate again applied %v", again)
				}
			}
			if s.Driver() != d {
				t.Errorf("Driver() = %q", s.Driver())
			}
			must(t, s.Ping(ctx))
			must(t, s.DB().PingContext(ctx))
		})
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	if _, err := store.Open(ctx, "postgres", "x"); err == nil {
		t.Fatal("no error")
	}
}

// Gateways starting together against one new MySQL database migrate it one
// after the other: every migration runs once, and both start.
func TestConcurrentMigrateMySQL(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	var stores []*store.Store
	for range 3 {
		s, err := store.Open(ctx, store.DriverMySQL, dsn)
		must(t, err)
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	var wg sync.WaitGroup
	applied := make([][]string, len(stores))
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	total := 0
	for i := range stores {
		must(t, errs[i])
		total += len(applied[i])
	}
	entries, _ := fs.ReadDir(os.DirFS("migrations/mysql"), ".")
	if total != len(entries) {
		t.Fatalf("migrations applied %d times in all (%v), want %d", total, applied, len(entries))
	}
	// And the schema works.
	must(t, stores[0].CreateUser(ctx, &directory.User{Username: "alice", Name: "Alice", Role: directory.RoleAgent}))
}

// atVersion opens a new database of driver d migrated up to version only,
// as an install of that version left it, and the goose provider that moves
// it up and down.
func atVersion(t *testing.T, d string, version int64) (*store.Store, *goose.Provider) {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "old.db")
	dialect := goose.DialectSQLite3
	if d == store.DriverMySQL {
		dsn, dialect = storetest.MySQLDSN(t), goose.DialectMySQL
	}
	s, err := store.Open(ctx, d, dsn)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	p, err := goose.NewProvider(dialect, s.DB(), os.DirFS(filepath.Join("migrations", d)),
		goose.WithDisableGlobalRegistry(true))
	must(t, err)
	_, err = p.UpTo(ctx, version)
	must(t, err)
	return s, p
}

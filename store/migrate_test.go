package store_test

import (
	"path/filepath"
	"testing"

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

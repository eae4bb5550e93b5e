package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
)

func TestSQLiteDSN(t *testing.T) {
	const all = "_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	for _, tc := range []struct{ in, want string }{
		{"/var/lib/teamline/teamline.db", "file:/var/lib/teamline/teamline.db?" + all},
		{"odd %41#name.db", "file:odd %2541%23name.db?" + all},
		{"file:x.db", "file:x.db?" + all},
		{"file:x.db?mode=rwc", "file:x.db?mode=rwc&" + all},
		{"file:x.db?_pragma=foreign_keys(0)&_txlock=deferred&_busy_timeout=100&_journal=DELETE", "file:x.db?_pragma=foreign_keys(0)&_txlock=deferred&_busy_timeout=100&_journal=DELETE"},
	} {
		if got := sqliteDSN(tc.in); got != tc.want {
			t.Errorf("sqliteDSN(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "odd %41#name.db")
	s, err := Open(ctx, DriverSQLite, path, WithMaxOpenConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Every pooled connection has foreign keys on.
	conns := make([]interface{ Close() error }, 0, 3)
	for range 3 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var fk int
		var mode string
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v", fk, err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v", mode, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}

	mem, err := Open(ctx, DriverSQLite, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := mem.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := mem.DB().Stats().MaxOpenConnections; n != 1 {
		t.Errorf(":memory: MaxOpenConnections = %d", n)
	}
	if _, err := mem.ListUsers(ctx, directory.Page{}); err != nil {
		t.Fatal(err)
	}
}

// An in-memory database lives as long as its one connection: the pool must
// neither close it when idle nor when it is old, whatever the options say.
func TestSQLiteInMemoryKeepsItsConnection(t *testing.T) {
	ctx := context.Background()
	for _, opts := range [][]Option{
		{WithMaxIdleConns(0)},
		{WithConnMaxLifetime(time.Millisecond)},
		{WithMaxOpenConns(5), WithMaxIdleConns(0), WithConnMaxLifetime(time.Millisecond)},
	} {
		s, err := Open(ctx, DriverSQLite, "file::memory:", opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := s.ListUsers(ctx, directory.Page{}); err != nil {
			t.Errorf("after a pause: %v", err)
		}
		s.Close()
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
)

// The gate waits as long as SQLite would: the busy timeout the store's
// connections have, however the DSN set it.
func TestSQLiteGateWait(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i, tc := range []struct {
		query string
		want  time.Duration
	}{
		{"", 5 * time.Second},
		{"?_pragma=busy_timeout(50)", 50 * time.Millisecond},
		{"?_pragma=foreign_keys(1)&_pragma=BUSY_TIMEOUT%3D250", 250 * time.Millisecond},
		{"?_busy_timeout=100", 100 * time.Millisecond},
		{"?_timeout=7000", 7 * time.Second},
	} {
		s, err := Open(ctx, DriverSQLite, "file:"+filepath.Join(dir, fmt.Sprint(i, ".db"))+tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if s.gate.wait != tc.want {
			t.Errorf("%q: the gate waits %v, want %v", tc.query, s.gate.wait, tc.want)
		}
		s.Close()
	}
}

// gateOf returns the gate of the file key, nil if none.
func gateOf(key string) *writeGate {
	writeGates.Lock()
	defer writeGates.Unlock()
	return writeGates.m[key]
}

// Stores of one process on one SQLite file share a gate, also when the
// file is named differently; stores on other files, and in-memory ones,
// do not. The last store to close removes it.
func TestSQLiteGateShared(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(dsn string) *Store {
		t.Helper()
		s, err := Open(ctx, DriverSQLite, dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := open(filepath.Join(dir, "a.db"))
	b := open("file:" + filepath.Join(dir, ".", "a.db") + "?_pragma=busy_timeout(10)")
	c := open(filepath.Join(dir, "c.db"))
	m := open(":memory:")
	defer m.Close()
	if a.gate.g != b.gate.g {
		t.Error("two stores on a.db have different gates")
	}
	if b.gate.wait != 10*time.Millisecond {
		t.Errorf("b waits %v", b.gate.wait)
	}
	if a.gate.g == c.gate.g {
		t.Error("stores on a.db and c.db share a gate")
	}
	if m.gate != nil {
		t.Error("an in-memory store has a gate")
	}
	key := a.gate.key
	a.Close()
	a.Close() // twice: counted once
	if gateOf(key) == nil {
		t.Fatal("gate removed while b is open")
	}
	b.Close()
	c.Close()
	if gateOf(key) != nil {
		t.Error("gate kept after the last store closed")
	}
}

// A transaction function that starts another transaction of the same
// store waits for itself: after the busy timeout it fails with ErrBusy, as
// it did before the gate, instead of hanging.
func TestSQLiteGateNested(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, DriverSQLite, filepath.Join(t.TempDir(), "n.db")+"?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.InTx(ctx, func(directory.Queries) error {
		return s.InTx(ctx, func(directory.Queries) error { return nil })
	})
	if !errors.Is(err, ErrBusy) || !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("nested transaction: %v, want ErrBusy", err)
	}
	// And a cancelled context stops the wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = s.InTx(ctx, func(directory.Queries) error {
		return s.InTx(cctx, func(directory.Queries) error { return nil })
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// The gate is free again.
	if err := s.InTx(ctx, func(directory.Queries) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

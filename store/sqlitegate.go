package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SQLite runs one write transaction at a time, and every transaction of
// the store is one (BEGIN IMMEDIATE). A transaction that finds the write
// lock taken is not queued by SQLite: its busy handler sleeps and tries
// again, after 1, 2, 5, ... and then every 100 ms. A writer that commits
// and begins again at once therefore almost always wins, and under a
// burst one goroutine can wait out the whole busy timeout and fail while
// others keep writing. Measured with 8 goroutines taking 1,600 rotation
// turns as fast as they can (-race): without the gate the longest wait
// was 1.5 to 2.7 s, 2.4 to 4.7 s with the CPUs busy, and some runs failed
// at the 5 s busy timeout; with it, 15 to 30 ms and 30 to 70 ms, in the
// same total time.
//
// So within this process the store's transactions on one SQLite file
// queue first at a gate, first come first served, and only the one at the
// front asks SQLite for the lock. The gate is shared by every Store of the
// process opened on the same file (the server opens one; tests open
// several to stand for gateways). Other processes on the same file still
// meet at SQLite's lock, with its busy timeout.
type writeGate struct {
	slot chan struct{} // holds a value while a transaction runs
	refs int           // stores using it
}

var writeGates = struct {
	sync.Mutex
	m map[string]*writeGate
}{m: map[string]*writeGate{}}

// sqliteGate is a store's place at its file's writeGate.
type sqliteGate struct {
	key    string
	g      *writeGate
	wait   time.Duration // at most this long, like busy_timeout
	closed bool          // under writeGates' lock
}

// openSQLiteGate returns the gate of the SQLite file of dsn (a DSN that
// sqliteDSN has completed), or nil for an in-memory database, which has
// only one connection anyway. The gate waits as long as SQLite would: the
// busy timeout of db's connections.
func openSQLiteGate(ctx context.Context, db *sql.DB, dsn string) (*sqliteGate, error) {
	if sqliteInMemory(dsn) {
		return nil, nil
	}
	var ms int64
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms); err != nil {
		return nil, err
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	writeGates.Lock()
	defer writeGates.Unlock()
	g := writeGates.m[path]
	if g == nil {
		g = &writeGate{slot: make(chan struct{}, 1)}
		writeGates.m[path] = g
	}
	g.refs++
	return &sqliteGate{key: path, g: g, wait: time.Duration(ms) * time.Millisecond}, nil
}

// close gives up the store's place, once; the last store on the file
// removes the gate. A transaction begun after close still passes the gate
// (and then finds the pool closed).
func (s *sqliteGate) close() {
	if s == nil {
		return
	}
	writeGates.Lock()
	defer writeGates.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.g.refs--; s.g.refs == 0 {
		delete(writeGates.m, s.key)
	}
}

// enter waits for the transactions ahead to finish. It gives up when ctx
// ends, or with ErrBusy after the busy timeout, as SQLite itself would (a
// transaction function that starts another transaction of the store waits
// for itself: that fails, it does not hang).
func (s *sqliteGate) enter(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.g.slot <- struct{}{}: // nobody ahead: no timer
		return nil
	default:
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.g.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: begin: %w", ctx.Err())
	case <-t.C:
		return &busyError{what: "transaction",
			err: fmt.Errorf("store: waited %s for this process's other transactions", s.wait)}
	}
}

// leave lets the next transaction in.
func (s *sqliteGate) leave() {
	if s != nil {
		<-s.g.slot
	}
}

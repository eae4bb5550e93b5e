package store

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
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
// others keep writing (measured: 8 goroutines routing as fast as they can
// kept one waiting for 2 s).
//
// So within this process the store's transactions on one SQLite file
// queue first at a gate, first come first served, and only the one at the
// front asks SQLite for the lock. The gate is shared by every Store of the
// process opened on the same file (several gateways in one test, or a
// command next to the server). Other processes on the same file still
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
// only one connection anyway.
func openSQLiteGate(dsn string) *sqliteGate {
	if sqliteInMemory(dsn) {
		return nil
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
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
	return &sqliteGate{key: path, g: g, wait: sqliteBusyTimeout(query)}
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

var busyPragma = regexp.MustCompile(`(?i)busy_timeout\s*(?:\(\s*|=\s*)(\d+)`)

// sqliteBusyTimeout returns the busy timeout the DSN's query sets (the
// _pragma the store adds, or one of the DSN's own), 5 s if none.
func sqliteBusyTimeout(query string) time.Duration {
	ms := 5000
	q, _ := url.ParseQuery(query)
	for _, p := range q["_pragma"] {
		if m := busyPragma.FindStringSubmatch(p); m != nil {
			ms, _ = strconv.Atoi(m[1])
		}
	}
	for _, k := range []string{"_busy_timeout", "_timeout"} {
		if n, err := strconv.Atoi(q.Get(k)); err == nil {
			ms = n
		}
	}
	return time.Duration(ms) * time.Millisecond
}

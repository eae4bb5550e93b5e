// Package store is the SQL behind the directory: it implements
// directory.Store on SQLite (modernc.org/sqlite, the embedded default) and on
// MySQL/MariaDB (go-sql-driver/mysql, for production), with the same schema
// and the same behaviour on both.
//
// Conventions shared by every query:
//   - All values go through placeholders; SQL text is built only from
//     constant fragments.
//   - Times are written as UTC text with microsecond precision (see
//     timefmt.go) and read back as UTC time.Time on both backends.
//   - CreatedAt and UpdatedAt are stored as the caller gives them (the
//     directory service stamps them with its clock), in UTC microseconds;
//     zero ones are stamped with the store's clock (WithClock). An update
//     never changes created_at.
//   - Empty child collections (phones, tags, agents, criteria, windows) read
//     back as nil; List* results are non-nil, possibly empty, slices.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers database/sql driver "sqlite"

	"github.com/teamline/teamline/directory"
)

// Driver names accepted by Open.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// Store is a directory database. It implements directory.Store.
type Store struct {
	*queries // outside a transaction: db, driver, log, gate and clock
	// mysqlDSN opens the connection that holds the migration lock outside
	// the pool, which may be as small as one connection (MySQL only).
	mysqlDSN string
}

var _ directory.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	maxOpen     int
	maxIdle     int
	maxIdleSet  bool
	maxLifetime time.Duration
	log         *slog.Logger
	now         func() time.Time
}

// WithMaxOpenConns limits the open connections of the pool (0 = unlimited).
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpen = n } }

// WithMaxIdleConns sets the idle connections kept by the pool.
func WithMaxIdleConns(n int) Option {
	return func(o *options) { o.maxIdle, o.maxIdleSet = n, true }
}

// WithConnMaxLifetime closes connections older than d (MySQL servers drop
// idle connections after wait_timeout).
func WithConnMaxLifetime(d time.Duration) Option { return func(o *options) { o.maxLifetime = d } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the clock the store stamps zero CreatedAt and UpdatedAt
// with (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens the database and checks it is reachable. It does not migrate;
// call Migrate.
//
// driver "sqlite": dsn is a file path or a modernc "file:" DSN. Foreign keys,
// WAL, a busy timeout and immediate write transactions are switched on unless
// the DSN sets them itself. The transactions of all stores of this process
// on one file queue for SQLite's write lock in order (see writeGate).
//
// driver "mysql": dsn is a go-sql-driver DSN. The store forces
// parseTime=true, loc=UTC, multiStatements=false and clientFoundRows=true
// (UPDATE reports matched rows, so "no such row" is told apart from "no
// change") and, unless the DSN sets them, sql_mode=TRADITIONAL (strict: too
// long values fail instead of being cut), time_zone='+00:00' and the READ
// COMMITTED isolation level (see readCommitted).
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	o := options{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	var (
		db  *sql.DB
		err error
	)
	switch driver {
	case DriverSQLite:
		dsn = sqliteDSN(dsn)
		db, err = sql.Open(DriverSQLite, dsn)
		if err == nil && sqliteInMemory(dsn) {
			// Every connection to :memory: is its own database, which
			// lives as long as the connection: keep exactly one, forever.
			o.maxOpen, o.maxIdle, o.maxIdleSet, o.maxLifetime = 1, 1, true, 0
		}
	case DriverMySQL:
		db, err = openMySQL(dsn)
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %q or %q)", driver, DriverSQLite, DriverMySQL)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", driver, err)
	}
	db.SetMaxOpenConns(o.maxOpen)
	if o.maxIdleSet {
		db.SetMaxIdleConns(o.maxIdle)
	}
	db.SetConnMaxLifetime(o.maxLifetime)
	var gate *sqliteGate
	err = db.PingContext(ctx)
	if err == nil && driver == DriverSQLite {
		gate, err = openSQLiteGate(ctx, db, dsn)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", driver, err)
	}
	st := &Store{queries: &queries{q: db, db: db, now: o.now, driver: driver, log: o.log, gate: gate}}
	if driver == DriverMySQL {
		st.mysqlDSN = dsn
	}
	return st, nil
}

// DB returns the connection pool (for the Prometheus DB stats collector).
func (s *Store) DB() *sql.DB { return s.db }

// Driver returns "sqlite" or "mysql".
func (s *Store) Driver() string { return s.driver }

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the pool.
func (s *Store) Close() error {
	s.gate.close()
	return s.db.Close()
}

// sqliteDSN turns a bare path into a modernc "file:" DSN and adds the
// connection settings the store relies on when the DSN does not set them:
// foreign keys (per connection, so it must be in the DSN), a busy timeout,
// WAL (readers do not block the writer) and BEGIN IMMEDIATE, so that a
// transaction takes the write lock up front and waits busy_timeout for it
// instead of failing with SQLITE_BUSY when it upgrades from read to write.
func sqliteDSN(dsn string) string {
	path, query, _ := strings.Cut(dsn, "?")
	if !strings.HasPrefix(path, "file:") {
		// SQLite URI filenames decode %XX and end at '?' or '#'.
		path = "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		// Leave a DSN we cannot read to the driver, which reports it.
		return dsn
	}
	pragmas := strings.ToLower(strings.Join(q["_pragma"], " "))
	var add []string
	for _, p := range []struct{ name, value, key, alias string }{
		{"foreign_keys", "foreign_keys(1)", "_foreign_keys", "_fk"},
		{"busy_timeout", "busy_timeout(5000)", "_busy_timeout", "_timeout"},
		{"journal_mode", "journal_mode(WAL)", "_journal_mode", "_journal"},
	} {
		if !strings.Contains(pragmas, p.name) && !q.Has(p.key) && !q.Has(p.alias) {
			add = append(add, "_pragma="+p.value)
		}
	}
	if q.Get("_txlock") == "" {
		add = append(add, "_txlock=immediate")
	}
	if query != "" {
		add = append([]string{query}, add...)
	}
	if len(add) == 0 {
		return path
	}
	return path + "?" + strings.Join(add, "&")
}

func sqliteInMemory(dsn string) bool {
	return strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory")
}

func openMySQL(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// One statement per query: the store never sends more, and a query
	// that could carry a second statement would only help an injection.
	cfg.MultiStatements = false
	cfg.ClientFoundRows = true
	// Send each query with its arguments in one round trip instead of
	// prepare, execute and close: a third of the latency on every lookup.
	// The driver escapes the arguments for the connection's character set.
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["sql_mode"]; !ok {
		cfg.Params["sql_mode"] = "'TRADITIONAL'"
	}
	if _, ok := cfg.Params["time_zone"]; !ok {
		cfg.Params["time_zone"] = "'+00:00'"
	}
	_, isolation := cfg.Params["transaction_isolation"]
	_, isolationOld := cfg.Params["tx_isolation"]
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	if isolation || isolationOld {
		return sql.OpenDB(conn), nil
	}
	return sql.OpenDB(initConnector{Connector: conn, init: readCommitted}), nil
}

// readCommitted runs on every new MySQL connection. Under InnoDB's default
// REPEATABLE READ a write that finds no row (deleting a lead's tags before
// writing the new ones, updating the settings row before it exists) locks
// the gap where the row would be, and two transactions that then insert
// into that gap deadlock; READ COMMITTED takes no such gap locks. The
// statement, not a DSN parameter, because the variable is
// transaction_isolation on MySQL 8 and tx_isolation on MariaDB before 11.1.
// (Binary logging then needs binlog_format ROW or MIXED, the defaults.)
const readCommitted = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

// initConnector runs init on every connection it opens.
type initConnector struct {
	driver.Connector
	init string
}

func (c initConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: %T cannot run %q", conn, c.init)
	}
	if _, err := ex.ExecContext(ctx, c.init, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

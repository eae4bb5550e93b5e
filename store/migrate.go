package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
)

// migrations holds one directory per dialect with the same migrations:
// same numbers, tables, columns and keys. A new migration is added to both.
//
//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrations embed.FS

var dialects = map[string]goose.Dialect{
	DriverSQLite: goose.DialectSQLite3,
	DriverMySQL:  goose.DialectMySQL,
}

// migrateLockWait bounds how long Migrate waits for another gateway's
// migration of the same MySQL database to finish.
const migrateLockWait = 5 * time.Minute

// Migrate applies the migrations the database does not have yet and
// returns their file names (none when it is up to date). On MySQL it holds
// a named lock meanwhile, so that gateways starting together against one
// database migrate it one after the other (goose takes no lock of its own
// there, and MySQL cannot roll back DDL).
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	if s.driver == DriverMySQL {
		unlock, err := s.mysqlLock(ctx, migrateLockWait)
		if err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		defer unlock()
	}
	dir, err := fs.Sub(migrations, path.Join("migrations", s.driver))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	p, err := goose.NewProvider(dialects[s.driver], s.db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			name := path.Base(r.Source.Path)
			applied = append(applied, name)
			s.log.Debug("store: migration applied", "driver", s.driver, "migration", name, "duration", r.Duration)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("store: migrate: %w", err)
	}
	return applied, nil
}

// mysqlLock takes the server-wide named lock guarding migrations of this
// database (GET_LOCK; the name carries a hash of the database name, which
// may be longer than a lock name may be). The lock belongs to one
// connection, held until unlock.
func (s *Store) mysqlLock(ctx context.Context, wait time.Duration) (unlock func(), err error) {
	// A connection of its own: taken from the pool, it could be the pool's
	// only one, and goose would wait for it forever.
	lockDB, err := sql.Open(DriverMySQL, s.mysqlDSN)
	if err != nil {
		return nil, err
	}
	conn, err := lockDB.Conn(ctx)
	if err != nil {
		lockDB.Close()
		return nil, err
	}
	closeAll := func() {
		conn.Close()
		lockDB.Close()
	}
	const name = "CONCAT('teamline_migrate:', LEFT(SHA1(DATABASE()), 24))"
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", ?)", int(wait.Seconds())).Scan(&got)
	switch {
	case err != nil:
		closeAll()
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	case !got.Valid || got.Int64 != 1:
		closeAll()
		return nil, fmt.Errorf("another gateway has been migrating this database for %s; try again", wait)
	}
	return func() {
		// A fresh context: the lock must go even when ctx has ended.
		if _, err := conn.ExecContext(context.Background(), "DO RELEASE_LOCK("+name+")"); err != nil {
			s.log.Warn("store: releasing the migration lock", "err", err)
		}
		closeAll()
	}, nil
}

package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"

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

// Migrate applies the migrations the database does not have yet and
// returns their file names (none when it is up to date).
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
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

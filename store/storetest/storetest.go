// Package storetest opens throwaway stores for tests of any package: a
// SQLite file in t.TempDir(), and, when TEST_MYSQL_DSN is set (e.g.
// "root@tcp(127.0.0.1:3306)/test"), a fresh MySQL/MariaDB database that is
// dropped when the test ends. Both are migrated.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/teamline/teamline/store"
)

// EnvMySQL names the variable with the DSN of a MySQL/MariaDB server the
// tests may create databases on.
const EnvMySQL = "TEST_MYSQL_DSN"

// Drivers returns the drivers to test against: "sqlite", and "mysql" when
// TEST_MYSQL_DSN is set.
func Drivers() []string {
	if os.Getenv(EnvMySQL) != "" {
		return []string{store.DriverSQLite, store.DriverMySQL}
	}
	return []string{store.DriverSQLite}
}

// Run runs fn as a subtest per driver, each with its own fresh store.
func Run(t *testing.T, fn func(t *testing.T, s *store.Store), opts ...store.Option) {
	t.Helper()
	for _, d := range Drivers() {
		t.Run(d, func(t *testing.T) { fn(t, Open(t, d, opts...)) })
	}
}

// Open returns a fresh, migrated store on driver, closed (and for MySQL
// dropped) in t.Cleanup. It skips the test for "mysql" without
// TEST_MYSQL_DSN.
func Open(t testing.TB, driver string, opts ...store.Option) *store.Store {
	t.Helper()
	s := OpenDSN(t, driver, DSN(t, driver), opts...)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}

// DSN returns the DSN of a fresh, empty database on driver: a SQLite file
// in t.TempDir(), or a MySQL database dropped when the test ends (see
// MySQLDSN). Open it with OpenDSN, as often as needed to stand for several
// gateways sharing one database.
func DSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case store.DriverSQLite:
		return filepath.Join(t.TempDir(), "teamline.db")
	case store.DriverMySQL:
		return MySQLDSN(t)
	}
	t.Fatalf("storetest: unknown driver %q", driver)
	return ""
}

// OpenDSN opens a store on dsn, closed in t.Cleanup. It does not migrate.
func OpenDSN(t testing.TB, driver, dsn string, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), driver, dsn, opts...)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// MySQLDSN creates a fresh MySQL/MariaDB database with a random name on the
// TEST_MYSQL_DSN server and returns its DSN; the database is dropped when the
// test ends. Without TEST_MYSQL_DSN the test is skipped.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvMySQL)
	if dsn == "" {
		t.Skip("storetest: " + EnvMySQL + " not set")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvMySQL, err)
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	name := "teamline_test_" + hex.EncodeToString(randomBytes(t, 6))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("storetest: create database: %v", err)
	}
	// Registered before Open's cleanup, so it runs after the store is closed.
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return b
}

package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Driver names returned by Database.Driver, as registered by modernc.org/sqlite and go-sql-driver/mysql.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// ErrDSN is wrapped by every error about database.dsn. The messages never contain the password.
var ErrDSN = errors.New("invalid database DSN")

// schemeRE matches a URL scheme, to refuse postgres:// and friends clearly instead of misreading them.
var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

type dsnKind int

const (
	dsnUnknown dsnKind = iota
	dsnDefault
	dsnSQLite
	dsnMySQLURL
	dsnMySQLDriver
)

// classify tells the DSN forms apart. Order matters: "user:pass@tcp(h)/app.db" is MySQL although it
// ends in .db, so the driver form is recognised before the SQLite file extension.
func classify(dsn string) dsnKind {
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		return dsnDefault
	case strings.HasPrefix(lower, "mysql://"):
		return dsnMySQLURL
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return dsnSQLite
	case schemeRE.MatchString(dsn):
		return dsnUnknown
	case looksLikeMySQLDriver(dsn):
		return dsnMySQLDriver
	}
	path, _, _ := strings.Cut(dsn, "?")
	switch strings.ToLower(filepath.Ext(path)) {
	case ".db", ".sqlite", ".sqlite3":
		return dsnSQLite
	}
	return dsnUnknown
}

// looksLikeMySQLDriver: the go-sql-driver grammar is [user[:password]@][net[(addr)]]/dbname[?params],
// so the part before the last slash holds an '@' or a '('; a file path does not.
func looksLikeMySQLDriver(dsn string) bool {
	i := strings.LastIndexByte(dsn, '/')
	return i > 0 && strings.ContainsAny(dsn[:i], "@(")
}

// Driver returns the database/sql driver name and the DSN to open it with:
//
//   - ("sqlite", path or file: URI) for the SQLite forms; an empty DSN is dataDir/teamline.db;
//   - ("mysql", go-sql-driver DSN) for both MySQL forms, mysql:// URLs converted, with parseTime=true,
//     loc=UTC added unless the DSN sets them.
//
// Errors wrap ErrDSN and never contain the password. A DSN given as {env: ...} or {file: ...} must have
// been read (Config.ResolveSecrets) first: until then Driver fails rather than fall back to SQLite.
func (d Database) Driver(dataDir string) (driver, dsn string, err error) {
	if d.DSN.pending {
		return "", "", fmt.Errorf("%w: the DSN from %s has not been read", ErrDSN, d.DSN.from())
	}
	raw := d.DSN.Value()
	switch classify(raw) {
	case dsnDefault:
		if dataDir == "" {
			return "", "", fmt.Errorf("%w: empty DSN means SQLite in data_dir, but data_dir is empty", ErrDSN)
		}
		return DriverSQLite, filepath.Join(dataDir, DefaultDSNFile), nil
	case dsnSQLite:
		return sqliteDSN(raw)
	case dsnMySQLURL:
		cfg, err := mysqlFromURL(raw)
		if err != nil {
			return "", "", err
		}
		return DriverMySQL, cfg.FormatDSN(), nil
	case dsnMySQLDriver:
		cfg, err := mysqlFromDriverDSN(raw)
		if err != nil {
			return "", "", err
		}
		return DriverMySQL, cfg.FormatDSN(), nil
	}
	return "", "", fmt.Errorf("%w: not a recognised form; use an empty value (SQLite in data_dir), sqlite:PATH, "+
		"file:PATH, a path ending in .db, mysql://user:pass@host:port/dbname or user:pass@tcp(host:port)/dbname", ErrDSN)
}

// sqliteDSN strips "sqlite:" / "sqlite://"; "file:" URIs go to the driver as they are, since
// modernc.org/sqlite reads their query parameters (_pragma=..., mode=...).
func sqliteDSN(raw string) (string, string, error) {
	path := raw
	if strings.HasPrefix(strings.ToLower(raw), "sqlite:") {
		path = raw[len("sqlite:"):]
		path = strings.TrimPrefix(path, "//") // sqlite:///abs/path and sqlite://rel/path
	}
	if path == "" || strings.EqualFold(path, "file:") {
		return "", "", fmt.Errorf("%w: SQLite DSN %q has no path", ErrDSN, raw)
	}
	return DriverSQLite, path, nil
}

// mysqlFromURL converts mysql://user:pass@host[:port]/dbname?params to a driver config.
func mysqlFromURL(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote pieces of the input, which may be the password: say what to do instead.
		return nil, fmt.Errorf("%w: malformed mysql:// URL (percent-encode special characters in user "+
			"and password, e.g. %%40 for @, %%2F for /, %%3A for :)", ErrDSN)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: mysql:// URL has no host", ErrDSN)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	if !validHost(host) {
		return nil, fmt.Errorf("%w: mysql:// URL host %q is not an IP address or host name", ErrDSN, host)
	}
	if err := checkPort(port); err != nil {
		return nil, fmt.Errorf("%w: mysql:// URL: %w", ErrDSN, err)
	}
	dbname := strings.TrimPrefix(u.Path, "/")
	if dbname == "" || strings.Contains(dbname, "/") {
		return nil, fmt.Errorf("%w: mysql:// URL needs the database name as its path: mysql://user:pass@host:port/dbname", ErrDSN)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: mysql:// URL has a malformed query", ErrDSN)
	}
	// Let the driver read the parameters, so they mean exactly what they mean in its own DSN form.
	cfg, err := mysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "invalid DSN: ")
		if pw, _ := u.User.Password(); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
		return nil, fmt.Errorf("%w: mysql:// URL parameters: %s", ErrDSN, msg)
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = dbname
	ensureParams(cfg, query)
	return cfg, nil
}

// mysqlFromDriverDSN checks a go-sql-driver DSN, user:pass@tcp(host:port)/dbname?params.
func mysqlFromDriverDSN(raw string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(raw)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "invalid DSN: ")
		if pw := driverPassword(raw); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
		return nil, fmt.Errorf("%w: MySQL DSN: %s", ErrDSN, msg)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("%w: MySQL DSN has no database name: user:pass@tcp(host:port)/dbname", ErrDSN)
	}
	switch cfg.Net {
	case "tcp":
		if err := checkHostPort(cfg.Addr, false); err != nil {
			return nil, fmt.Errorf("%w: MySQL DSN address %w", ErrDSN, err)
		}
	case "unix":
	default:
		return nil, fmt.Errorf("%w: MySQL DSN network %q is not tcp or unix", ErrDSN, cfg.Net)
	}
	var query url.Values
	if i := strings.LastIndexByte(raw, '/'); i >= 0 {
		if _, params, ok := strings.Cut(raw[i+1:], "?"); ok {
			query = paramKeys(params)
		}
	}
	ensureParams(cfg, query)
	return cfg, nil
}

// paramKeys reads the keys of a driver DSN's parameters the way the driver splits them.
func paramKeys(params string) url.Values {
	q := url.Values{}
	for kv := range strings.SplitSeq(params, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			q.Set(k, v)
		}
	}
	return q
}

// ensureParams sets what Teamline relies on unless the user chose otherwise: DATETIME columns scanned
// into time.Time, times in UTC, and several statements per Exec for the migrations.
func ensureParams(cfg *mysql.Config, set url.Values) {
	if !set.Has("parseTime") {
		cfg.ParseTime = true
	}
	if !set.Has("loc") {
		cfg.Loc = time.UTC
	}
}

// driverPassword finds the password the way mysql.ParseDSN does: before the last '/', up to the last
// '@', after the first ':'.
func driverPassword(raw string) string {
	slash := strings.LastIndexByte(raw, '/')
	if slash < 0 {
		return ""
	}
	at := strings.LastIndexByte(raw[:slash], '@')
	if at < 0 {
		return ""
	}
	_, pw, _ := strings.Cut(raw[:at], ":")
	return pw
}

// Redacted returns the DSN for logs, with the password replaced by "***". A MySQL DSN too malformed to
// find the password in has everything up to its last '@' replaced. A DSN not read yet is named by where
// it comes from.
func (d Database) Redacted() string {
	if d.DSN.pending {
		return "(" + d.DSN.from() + ", not read)"
	}
	raw := d.DSN.Value()
	switch classify(raw) {
	case dsnDefault, dsnSQLite:
		return raw
	case dsnMySQLURL:
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if _, has := u.User.Password(); !has {
				return raw
			}
			user := url.User(u.User.Username()).String() // re-escaped; "***" must stay unescaped
			u.User = nil
			rest := strings.TrimPrefix(u.String(), u.Scheme+"://")
			return u.Scheme + "://" + user + ":***@" + rest
		}
		if at := strings.LastIndexByte(raw, '@'); at >= 0 {
			return raw[:len("mysql://")] + "***" + raw[at:]
		}
		return raw
	case dsnMySQLDriver:
		if cfg, err := mysql.ParseDSN(raw); err == nil {
			if cfg.Passwd == "" {
				return raw
			}
			prefix := cfg.User + ":" + cfg.Passwd + "@"
			if strings.HasPrefix(raw, prefix) {
				return cfg.User + ":***@" + raw[len(prefix):]
			}
		}
	}
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		return "***" + raw[at:]
	}
	return raw
}

package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/teamline/teamline/directory"
)

// ErrTooLong: a value exceeds its column's size (the same limits on both
// backends, see the migrations). The directory's validation should keep
// inputs well below them.
var ErrTooLong = errors.New("store: value too long")

// ErrBusy: the database gave up waiting for a lock another writer held (a
// MySQL deadlock or lock wait timeout, SQLite's busy timeout). Nothing of the
// failed statement was written and the same change may well succeed when
// tried again. Errors that wrap it also match directory.ErrUnavailable.
var ErrBusy = errors.New("store: database busy")

type errKind int

const (
	errOther errKind = iota
	errUnique
	errForeignKey
	errTooLong
	errBusy
)

// MySQL error numbers (mysqld_error.h).
const (
	mysqlDupEntry        = 1062
	mysqlRowIsReferenced = 1451 // cannot delete or update a parent row
	mysqlNoReferenced    = 1452 // cannot add or update a child row
	mysqlDataTooLong     = 1406
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// classify tells constraint violations apart on both backends and returns
// the key involved: "table.column" or an index or column name.
func classify(err error) (errKind, string) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		msg := se.Error()
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique, after(msg, "UNIQUE constraint failed: ")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
			// ON DELETE RESTRICT fails through SQLite's trigger machinery.
			sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			if strings.Contains(msg, "FOREIGN KEY constraint failed") {
				return errForeignKey, ""
			}
		case sqlite3.SQLITE_CONSTRAINT_CHECK:
			// The only CHECKs are the length limits, named after their column.
			return errTooLong, after(msg, "CHECK constraint failed: ")
		}
		// Extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary code
		// in the low byte.
		if c := se.Code() & 0xff; c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED {
			return errBusy, ""
		}
		return errOther, ""
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case mysqlDupEntry:
			// "Duplicate entry '<value>' for key '<index>'": the value may
			// itself contain "for key '", so take the last one.
			key := ""
			if i := strings.LastIndex(me.Message, "for key '"); i >= 0 {
				key = strings.TrimSuffix(me.Message[i+len("for key '"):], "'")
			}
			if i := strings.LastIndexByte(key, '.'); i >= 0 { // MySQL 8 says 'table.index'
				key = key[i+1:]
			}
			return errUnique, key
		case mysqlRowIsReferenced, mysqlNoReferenced:
			return errForeignKey, strings.Trim(firstWord(after(me.Message, "CONSTRAINT ")), "`")
		case mysqlDataTooLong:
			return errTooLong, strings.Trim(firstWord(after(me.Message, "for column ")), "'`")
		case mysqlDeadlock, mysqlLockWaitTimeout:
			return errBusy, ""
		}
	}
	return errOther, ""
}

// after returns what follows marker in s, up to a " (" that SQLite appends
// with the numeric code; "" when marker is missing.
func after(s, marker string) string {
	_, rest, ok := strings.Cut(s, marker)
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, " (")
	return rest
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// uniqueKeys says in words what a unique key guards, by SQLite's
// "table.column" list and by the MySQL index name.
var uniqueKeys = map[string]string{
	"users.username":   "username already taken",
	"users_username":   "username already taken",
	"numbers.e164":     "number already exists",
	"numbers_e164":     "number already exists",
	"lead_phones.e164": "phone already on a lead",
	"lead_phones_e164": "phone already on a lead",
	"rules.name":       "rule name already taken",
	"rules_name":       "rule name already taken",
	"rule_agents.rule_id, rule_agents.kind, rule_agents.user_id": "user listed twice",
	"rule_agents_user_once":   "user listed twice",
	"users.primary_guard":     "the account has a primary manager already",
	"users_one_primary":       "the account has a primary manager already",
	"numbers.catch_all_guard": "the account has a catch-all number already",
	"numbers_one_catch_all":   "the account has a catch-all number already",
	"rules.catch_all_guard":   "there is a catch-all rule already",
	"rules_one_catch_all":     "there is a catch-all rule already",
	"api_tokens.token_hash":   "token already exists",
	"api_tokens_hash":         "token already exists",
}

// writeErr wraps an insert or update error of what (e.g. `user "alice"`):
// ErrConflict for a unique key or a reference to a row that is gone,
// ErrTooLong, or the plain database error.
func writeErr(err error, what string) error {
	return wrapErr(err, what, "refers to a user or number that no longer exists")
}

// deleteErr wraps a delete error of what: ErrConflict when other rows still
// refer to it.
func deleteErr(err error, what string) error {
	return wrapErr(err, what, "still in use")
}

func wrapErr(err error, what, fkMsg string) error {
	if err == nil {
		return nil
	}
	kind, key := classify(err)
	switch kind {
	case errUnique:
		msg, ok := uniqueKeys[key]
		if !ok {
			msg = "duplicate " + key
		}
		return fmt.Errorf("%w: %s: %s", directory.ErrConflict, what, msg)
	case errForeignKey:
		return fmt.Errorf("%w: %s: %s", directory.ErrConflict, what, fkMsg)
	case errTooLong:
		return fmt.Errorf("%w: %s: %s", ErrTooLong, what, key)
	case errBusy:
		return &busyError{what: what, err: err}
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// busyError is ErrBusy for a change to what. Its text is meant for the
// user, who can only try again; the database's own error is wrapped for
// the log.
type busyError struct {
	what string
	err  error
}

func (e *busyError) Error() string {
	return fmt.Sprintf("%s: %s: the database was busy with another change; try again", directory.ErrUnavailable, e.what)
}

func (e *busyError) Is(target error) bool {
	return target == ErrBusy || target == directory.ErrUnavailable
}

func (e *busyError) Unwrap() error { return e.err }

// busyErr turns an error that classify calls busy, and that is not ErrBusy
// yet, into ErrBusy; other errors pass unchanged.
func busyErr(err error, what string) error {
	if kind, _ := classify(err); kind == errBusy && !errors.Is(err, ErrBusy) {
		return &busyError{what: what, err: err}
	}
	return err
}

// isDeadlock reports whether err is, or wraps, a MySQL deadlock: InnoDB
// rolled the whole transaction back.
func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == mysqlDeadlock
}

func notFound(format string, args ...any) error {
	return fmt.Errorf("%w: %s", directory.ErrNotFound, fmt.Sprintf(format, args...))
}

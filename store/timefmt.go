package store

import (
	"database/sql"
	"fmt"
	"time"
)

// timeLayout is how times are written: UTC, microseconds, no zone. Both
// SQLite (text that sorts in time order) and MySQL (DATETIME(6)) take it.
const timeLayout = "2006-01-02 15:04:05.000000"

// timeParse reads timeLayout and the shorter forms a backend may return
// (fewer or no fraction digits).
const timeParse = "2006-01-02 15:04:05.999999999"

// dbTime normalises t to what the database keeps: UTC, microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// fmtTime formats t for a placeholder.
func fmtTime(t time.Time) string { return dbTime(t).Format(timeLayout) }

// fmtNullTime formats t, or NULL for nil.
func fmtNullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

// nullTime is NULL for the zero time, else t for a placeholder.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

// deref is *t, or the zero time for nil (a NULL time column).
func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// roundZero is t as it reads back: zero stays zero.
func roundZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return dbTime(t)
}

// timeScanner reads a time column whatever the driver hands over: time.Time
// (MySQL with parseTime, SQLite DATETIME columns), string or []byte (text).
// Exactly one of t and nullable is set; NULL is an error for t and sets
// *nullable to nil.
type timeScanner struct {
	t        *time.Time
	nullable **time.Time
}

var _ sql.Scanner = timeScanner{}

func scanTime(t *time.Time) timeScanner      { return timeScanner{t: t} }
func scanNullTime(t **time.Time) timeScanner { return timeScanner{nullable: t} }

// Scan implements sql.Scanner.
func (s timeScanner) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		if s.nullable == nil {
			return fmt.Errorf("store: NULL in a NOT NULL time column")
		}
		*s.nullable = nil
		return nil
	case time.Time:
		t = v
	case string:
		p, err := parseTime(v)
		if err != nil {
			return err
		}
		t = p
	case []byte:
		p, err := parseTime(string(v))
		if err != nil {
			return err
		}
		t = p
	default:
		return fmt.Errorf("store: cannot read %T as a time", src)
	}
	t = dbTime(t)
	if s.nullable != nil {
		*s.nullable = &t
	} else {
		*s.t = t
	}
	return nil
}

func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(timeParse, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad time %q: %w", v, err)
	}
	return t, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/teamline/teamline/directory"
)

// The settings are one JSON document in the single row of account_settings,
// so a new setting needs no migration: documents stored before it existed
// are decoded over DefaultSettings() and get its default. The migration
// creates the row (doc "{}"); PutSettings still inserts it should it be gone.
const settingsID = 1

// GetSettings returns the stored settings, DefaultSettings() if none were
// ever stored.
func (q *queries) GetSettings(ctx context.Context) (directory.Settings, error) {
	var doc string
	var updated time.Time
	err := q.q.QueryRowContext(ctx, `SELECT doc, updated_at FROM account_settings WHERE id = ?`, settingsID).
		Scan(&doc, scanTime(&updated))
	if errors.Is(err, sql.ErrNoRows) {
		return directory.DefaultSettings(), nil
	}
	if err != nil {
		return directory.Settings{}, fmt.Errorf("store: get settings: %w", err)
	}
	s := directory.DefaultSettings()
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return directory.Settings{}, fmt.Errorf("store: decode settings: %w", err)
	}
	s.UpdatedAt = updated
	return s, nil
}

// PutSettings stores s as of at.
func (q *queries) PutSettings(ctx context.Context, s directory.Settings, at time.Time) error {
	s.UpdatedAt = time.Time{} // kept in its column, not twice
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("store: encode settings: %w", err)
	}
	args := []any{string(doc), fmtTime(at), settingsID}
	update := func() (int64, error) {
		res, err := q.q.ExecContext(ctx, `UPDATE account_settings SET doc = ?, updated_at = ? WHERE id = ?`, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected() // matched rows on MySQL too (clientFoundRows)
	}
	n, err := update()
	if err == nil && n == 0 {
		_, err = q.q.ExecContext(ctx, `INSERT INTO account_settings (doc, updated_at, id) VALUES (?, ?, ?)`, args...)
		if kind, _ := classify(err); kind == errUnique {
			// Another writer inserted the row first; ours is the later write.
			_, err = update()
		}
	}
	if err != nil {
		return busyErr(fmt.Errorf("store: put settings: %w", err), "settings")
	}
	return nil
}

package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

// seeded is the updated_at of the settings row the migration creates: the
// settings were never changed.
var seeded = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// defaultsAt is DefaultSettings as last changed at t.
func defaultsAt(t time.Time) directory.Settings {
	s := directory.DefaultSettings()
	s.UpdatedAt = t
	return s
}

func TestSettings(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		same(t, "fresh settings", get(s.GetSettings(ctx))(t), defaultsAt(seeded))

		set := directory.DefaultSettings()
		set.Roles = []string{"buyer", "seller", "lender", "rentals"}
		set.TimeZone = "Europe/Berlin"
		set.CallerName = `Teamline "Realty" '; --`
		set.RecordingEnabled = false
		set.UsageAlertPercents = []int{50, 90, 100}
		at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		must(t, s.PutSettings(ctx, set, at))
		set.UpdatedAt = at
		same(t, "stored settings", get(s.GetSettings(ctx))(t), set)

		set.TimeZone = "America/Chicago"
		must(t, s.PutSettings(ctx, set, at.Add(time.Hour)))
		set.UpdatedAt = at.Add(time.Hour)
		same(t, "updated settings", get(s.GetSettings(ctx))(t), set)
		var doc string
		must(t, s.DB().QueryRowContext(ctx, "SELECT doc FROM account_settings").Scan(&doc))
		if strings.Contains(doc, "updated_at") {
			t.Errorf("the settings document repeats its column updated_at: %s", doc)
		}
		var rows int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM account_settings").Scan(&rows))
		same(t, "settings rows", rows, 1)
	})
}

func TestSettingsMergeOverDefaults(t *testing.T) {
	// A document stored before a setting existed gets the setting's default.
	run(t, func(t *testing.T, s *store.Store) {
		_, err := s.DB().ExecContext(ctx, `UPDATE account_settings
			SET doc = '{"time_zone": "Asia/Tokyo", "voicemail": false}' WHERE id = 1`)
		must(t, err)
		want := defaultsAt(seeded)
		want.TimeZone = "Asia/Tokyo"
		want.Voicemail = false
		same(t, "merged settings", get(s.GetSettings(ctx))(t), want)
	})
}

// The settings document is read leniently where that is safe (unknown keys
// of older or newer versions, null) and refused with a clear error where it
// is not (not JSON, wrong types); it never panics.
func TestSettingsStoredDocument(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		put := func(doc string) {
			t.Helper()
			_, err := s.DB().ExecContext(ctx, `UPDATE account_settings SET doc = ? WHERE id = 1`, doc)
			must(t, err)
		}
		tokyo := defaultsAt(seeded)
		tokyo.TimeZone = "Asia/Tokyo"
		for _, tc := range []struct {
			doc  string
			want directory.Settings
		}{
			{`{}`, defaultsAt(seeded)},
			{`null`, defaultsAt(seeded)},
			{`{"time_zone": "Asia/Tokyo", "retired_setting": {"x": [1, 2]}, "future_setting": true}`, tokyo},
		} {
			put(tc.doc)
			same(t, tc.doc, get(s.GetSettings(ctx))(t), tc.want)
		}
		for _, doc := range []string{``, `{"time_zone": `, `not json`, `[1, 2]`, `"text"`,
			`{"roles": "buyer"}`, `{"ring_timeout_seconds": "30"}`, `{"ring_timeout_seconds": 1e99}`, `{} trailing`} {
			put(doc)
			_, err := s.GetSettings(ctx)
			if err == nil || !strings.Contains(err.Error(), "settings") {
				t.Errorf("doc %q: error %v; want one about the stored settings", doc, err)
			}
		}

		// Should the row be gone, the defaults are read and the next write
		// puts it back.
		_, err := s.DB().ExecContext(ctx, `DELETE FROM account_settings`)
		must(t, err)
		same(t, "no row", get(s.GetSettings(ctx))(t), directory.DefaultSettings())
		back := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		must(t, s.PutSettings(ctx, tokyo, back))
		tokyo.UpdatedAt = back
		same(t, "row back", get(s.GetSettings(ctx))(t), tokyo)
	})
}

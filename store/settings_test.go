package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func TestSettings(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		same(t, "fresh settings", get(s.GetSettings(ctx))(t), directory.DefaultSettings())

		set := directory.DefaultSettings()
		set.Roles = []string{"buyer", "seller", "lender", "rentals"}
		set.TimeZone = "Europe/Berlin"
		set.CallerName = `Teamline "Realty" '; --`
		set.RecordingEnabled = false
		set.UsageAlertPercents = []int{50, 90, 100}
		at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		must(t, s.PutSettings(ctx, set, at))
		same(t, "stored settings", get(s.GetSettings(ctx))(t), set)

		set.TimeZone = "America/Chicago"
		must(t, s.PutSettings(ctx, set, at.Add(time.Hour)))
		same(t, "updated settings", get(s.GetSettings(ctx))(t), set)
		var rows int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM account_settings").Scan(&rows))
		same(t, "settings rows", rows, 1)
	})
}

func TestSettingsMergeOverDefaults(t *testing.T) {
	// A document stored before a setting existed gets the setting's default.
	run(t, func(t *testing.T, s *store.Store) {
		_, err := s.DB().ExecContext(ctx, `INSERT INTO account_settings (id, doc, updated_at)
			VALUES (1, '{"time_zone": "Asia/Tokyo", "voicemail": false}', '2025-01-01 00:00:00.000000')`)
		must(t, err)
		want := directory.DefaultSettings()
		want.TimeZone = "Asia/Tokyo"
		want.Voicemail = false
		same(t, "merged settings", get(s.GetSettings(ctx))(t), want)
	})
}

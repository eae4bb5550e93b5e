package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// An install on version 2 with call records in it takes 00003 (and the
// later ones) on its next start: the old records read back with no consent
// and no recording, and take both; recordings can be written.
func TestMigrateFromVersion2(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, p := atVersion(t, d, 2)
			// A record as version 2 wrote it (the store of today writes the
			// new columns).
			start := t0.UTC().Truncate(time.Microsecond)
			insertV2 := func() int64 {
				t.Helper()
				res, err := s.DB().ExecContext(ctx, `INSERT INTO call_records (call_id, node, direction, from_party,
					to_party, dialed, number_kind, role, username, lead_id, trunk, route, start_at, answer_at, end_at,
					result, sip_code, sip_reason) VALUES ('old@gw', 'gw1', 'inbound', '+15125550181', '+15125550100',
					'', '', '', 'alice', 0, 'telco', '', ?, NULL, ?, 'no_answer', 480, 'Temporarily Unavailable')`,
					start.Format("2006-01-02 15:04:05.000000"), start.Add(time.Second).Format("2006-01-02 15:04:05.000000"))
				must(t, err)
				id, err := res.LastInsertId()
				must(t, err)
				return id
			}
			id := insertV2()
			want := billing.CallRecord{ID: id, CallID: "old@gw", Node: "gw1", Direction: billing.Inbound,
				From: "+15125550181", To: "+15125550100", Username: "alice", Trunk: "telco", Start: start,
				End: start.Add(time.Second), Result: billing.ResultNoAnswer, SIPCode: 480, SIPReason: "Temporarily Unavailable"}

			same(t, "applied", get(s.Migrate(ctx))(t), []string{"00003_recordings.sql", "00004_routing.sql", "00005_recordings_call.sql"})
			same(t, "old record", get(s.GetCallRecord(ctx, id))(t), want)
			r := recording.Recording{CallRecordID: id, CallID: "old@gw", Kind: recording.KindCall, Username: "alice",
				Path: "old.wav", Start: t0}
			must(t, s.CreateRecording(ctx, &r))
			r = get(s.GetRecording(ctx, r.ID))(t)
			must(t, s.SetCallConsent(ctx, id, "skipped:one-party:TX", t0))
			want.Consent, want.ConsentAt, want.RecordingID = "skipped:one-party:TX", start, r.ID
			same(t, "old record, consented and recorded", get(s.ListCallRecords(ctx, billing.CallFilter{}))(t), []billing.CallRecord{want})
			same(t, "recordings", get(s.ListRecordings(ctx, recording.Filter{}))(t), []recording.Recording{r})

			// And back down to 2 and up again: the Down section works and
			// keeps the call records.
			_, err := p.DownTo(ctx, 2)
			must(t, err)
			insertV2()
			same(t, "applied again", get(s.Migrate(ctx))(t), []string{"00003_recordings.sql", "00004_routing.sql", "00005_recordings_call.sql"})
			want.Consent, want.ConsentAt, want.RecordingID = "", time.Time{}, 0
			same(t, "old record after down and up", get(s.GetCallRecord(ctx, id))(t), want)
			same(t, "records", len(get(s.ListCallRecords(ctx, billing.CallFilter{}))(t)), 2)
			same(t, "recordings after down and up", get(s.ListRecordings(ctx, recording.Filter{}))(t), []recording.Recording{})
		})
	}
}

// A database migrated with the first 00003 has no recordings_call index
// (the lookup of a call record's recording); 00005 makes it there, and
// leaves databases that have it alone.
func TestMigrateAddsRecordingsCallIndex(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, _ := atVersion(t, d, 4)
			hasIndex := func() bool {
				q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'recordings_call'`
				if d == store.DriverMySQL {
					q = `SELECT COUNT(*) FROM information_schema.statistics
						WHERE table_schema = DATABASE() AND table_name = 'recordings' AND index_name = 'recordings_call'`
				}
				var n int
				must(t, s.DB().QueryRowContext(ctx, q).Scan(&n))
				return n > 0
			}
			drop := `DROP INDEX recordings_call`
			if d == store.DriverMySQL {
				drop += ` ON recordings`
			}
			_, err := s.DB().ExecContext(ctx, drop)
			must(t, err)
			if hasIndex() {
				t.Fatal("index still there after dropping it")
			}
			same(t, "applied", get(s.Migrate(ctx))(t), []string{"00005_recordings_call.sql"})
			if !hasIndex() {
				t.Error("00005 did not make the missing index")
			}

			fresh, _ := atVersion(t, d, 5) // has it from 00003: 00005 changes nothing
			var n int
			q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'recordings_call'`
			if d == store.DriverMySQL {
				q = `SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics
					WHERE table_schema = DATABASE() AND table_name = 'recordings' AND index_name = 'recordings_call'`
			}
			must(t, fresh.DB().QueryRowContext(ctx, q).Scan(&n))
			same(t, "indexes on a fresh database", n, 1)
		})
	}
}

package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/recording"
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

			same(t, "applied", get(s.Migrate(ctx))(t), []string{"00003_recordings.sql", "00004_routing.sql"})
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
			same(t, "applied again", get(s.Migrate(ctx))(t), []string{"00003_recordings.sql", "00004_routing.sql"})
			want.Consent, want.ConsentAt, want.RecordingID = "", time.Time{}, 0
			same(t, "old record after down and up", get(s.GetCallRecord(ctx, id))(t), want)
			same(t, "records", len(get(s.ListCallRecords(ctx, billing.CallFilter{}))(t)), 2)
			same(t, "recordings after down and up", get(s.ListRecordings(ctx, recording.Filter{}))(t), []recording.Recording{})
		})
	}
}

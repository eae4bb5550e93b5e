package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

// An install on version 1 (the directory only) with users in it takes
// 00002 (and the later ones) on its next start, and its users can register
// and make calls.
func TestMigrateFromVersion1(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, p := atVersion(t, d, 1)
			alice := user(t, s, "alice")

			same(t, "applied", get(s.Migrate(ctx))(t), []string{"00002_calls.sql", "00003_recordings.sql", "00004_routing.sql", "00005_recordings_call.sql"})
			c := contact(t, s, "alice", "sip:alice@192.0.2.7", "gw1", t0.Add(time.Hour))
			same(t, "contacts", get(s.ListContacts(ctx, "alice", t0))(t), []directory.Contact{c})
			r := callRecord(t, s, "gw1", "alice", t0)
			same(t, "call records", get(s.ListCallRecords(ctx, billing.CallFilter{}))(t), []billing.CallRecord{r})
			must(t, s.DeleteUser(ctx, alice.ID))
			same(t, "contacts after the user", get(s.CountContacts(ctx, t0))(t), int64(0))

			// And back down to 1 and up again: the Down section works.
			_, err := p.DownTo(ctx, 1)
			must(t, err)
			same(t, "applied again", get(s.Migrate(ctx))(t), []string{"00002_calls.sql", "00003_recordings.sql", "00004_routing.sql", "00005_recordings_call.sql"})
		})
	}
}

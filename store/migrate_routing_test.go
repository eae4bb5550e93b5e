package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store/storetest"
)

// An install on version 3 with users, leads and rules takes 00004 on its
// next start: its rules start their rotations at position 0, the inbox is
// empty, cell codes can be sent. Down to 3 drops the three tables and
// keeps the rest; up again starts them afresh.
func TestMigrateFromVersion3(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s, p := atVersion(t, d, 3)
			user(t, s, "alice")
			user(t, s, "bob")
			r := rule(t, s, "r")
			l := lead(t, s, "L", "+15125550100")

			same(t, "applied", get(s.Migrate(ctx))(t), []string{"00004_routing.sql", "00005_recordings_call.sql"})
			same(t, "peek", get(s.PeekRotation(ctx, r.ID, router.PoolAgents, "k"))(t), uint64(0))
			same(t, "first turn", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(0))
			same(t, "second turn", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(1))
			same(t, "inbox", get(s.ListInbox(ctx, router.InboxFilter{}))(t), []router.InboxEntry{})
			e := missed(t, s, "+17375550000", router.KindCall, t0)
			same(t, "inbox with an entry", get(s.ListInbox(ctx, router.InboxFilter{}))(t), []router.InboxEntry{e})
			c := cellCode("alice", "+15125550111", "123456", t0)
			must(t, s.PutCellCode(ctx, c))
			same(t, "cell code", get(s.GetCellCode(ctx, "alice"))(t), stored(c))
			if !get(s.AssignLead(ctx, l.ID, "buyer", "bob", "", t0))(t) {
				t.Fatal("not assigned")
			}

			_, err := p.DownTo(ctx, 3)
			must(t, err)
			l.Agents, l.UpdatedAt = map[string]string{"buyer": "bob"}, t0.UTC().Truncate(time.Microsecond)
			same(t, "lead after down", get(s.GetLead(ctx, l.ID))(t), l)
			same(t, "rule after down", get(s.GetRule(ctx, r.ID))(t).Name, "r")
			same(t, "applied again", get(s.Migrate(ctx))(t), []string{"00004_routing.sql", "00005_recordings_call.sql"})
			same(t, "first turn again", get(advance(s, r.ID, router.PoolAgents, "k"))(t), uint64(0))
			same(t, "inbox again", get(s.CountInbox(ctx))(t), int64(0))
			_, err = s.GetCellCode(ctx, "alice")
			isErr(t, err, directory.ErrNotFound, "cell code")
		})
	}
}

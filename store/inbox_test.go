package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
)

// missed adds an inbox entry for a caller the catch-all took, in a routing
// transaction as the router does.
func missed(t testing.TB, s *store.Store, from string, kind router.Kind, at time.Time) router.InboxEntry {
	t.Helper()
	e := router.InboxEntry{At: at, Kind: kind, From: from, To: "+15125550100", CallID: "c-" + from + "@trunk",
		Reason: "unknown caller; lead routing off", ForwardTo: "+15125550199"}
	must(t, s.RouteTx(ctx, func(tx router.Tx) error { return tx.AddInbox(ctx, &e) }))
	return e
}

func TestInbox(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		var es []router.InboxEntry // oldest first
		for i := range 5 {
			kind := router.KindCall
			if i%2 == 1 {
				kind = router.KindText
			}
			es = append(es, missed(t, s, fmt.Sprintf("+1737555%04d", i), kind, t0.Add(time.Duration(i)*time.Minute)))
		}
		first := es[0]
		if first.ID == 0 || first.At != t0.UTC().Truncate(time.Microsecond) {
			t.Fatalf("AddInbox set %+v", first)
		}
		same(t, "entry as stored", first, router.InboxEntry{ID: first.ID, At: t0.UTC().Truncate(time.Microsecond),
			Kind: router.KindCall, From: "+17375550000", To: "+15125550100", CallID: "c-+17375550000@trunk",
			Reason: "unknown caller; lead routing off", ForwardTo: "+15125550199"})
		newest := func(is ...int) []router.InboxEntry {
			out := []router.InboxEntry{}
			for _, i := range is {
				out = append(out, es[i])
			}
			return out
		}
		same(t, "count", get(s.CountInbox(ctx))(t), int64(5))

		doneAt := t0.Add(time.Hour)
		must(t, s.DoneInbox(ctx, es[3].ID, "alice", doneAt))
		must(t, s.DoneInbox(ctx, es[1].ID, "bob", doneAt))
		es[3].Done, es[3].DoneBy, es[3].DoneAt = true, "alice", doneAt.UTC().Truncate(time.Microsecond)
		es[1].Done, es[1].DoneBy, es[1].DoneAt = true, "bob", doneAt.UTC().Truncate(time.Microsecond)
		// Done again, by someone else: the first stays.
		must(t, s.DoneInbox(ctx, es[3].ID, "carol", doneAt.Add(time.Minute)))
		same(t, "count of open entries", get(s.CountInbox(ctx))(t), int64(3))

		for _, tc := range []struct {
			name string
			f    router.InboxFilter
			want []router.InboxEntry
		}{
			{"all, newest first", router.InboxFilter{}, newest(4, 3, 2, 1, 0)},
			{"first page", router.InboxFilter{Limit: 2}, newest(4, 3)},
			{"second page", router.InboxFilter{Limit: 2, Before: es[3].ID}, newest(2, 1)},
			{"last page", router.InboxFilter{Limit: 2, Before: es[1].ID}, newest(0)},
			{"after the last page", router.InboxFilter{Limit: 2, Before: es[0].ID}, newest()},
			{"open only", router.InboxFilter{OpenOnly: true}, newest(4, 2, 0)},
			{"open only, paged", router.InboxFilter{OpenOnly: true, Limit: 1, Before: es[4].ID}, newest(2)},
		} {
			same(t, tc.name, get(s.ListInbox(ctx, tc.f))(t), tc.want)
		}

		isErr(t, s.DoneInbox(ctx, es[4].ID+1, "alice", doneAt), directory.ErrNotFound, fmt.Sprint("inbox entry ", es[4].ID+1))
	})
}

func TestInboxLimit(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i := range 101 {
			missed(t, s, fmt.Sprint("+1737555", 1000+i), router.KindCall, t0)
		}
		same(t, "default limit", len(get(s.ListInbox(ctx, router.InboxFilter{}))(t)), 100)
		same(t, "limit 101", len(get(s.ListInbox(ctx, router.InboxFilter{Limit: 101}))(t)), 101)
	})
}

// What a caller sends is kept, cut where too long, so that the missed call
// itself is never lost.
func TestInboxTexts(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		long := strings.Repeat("é", 600) // 1200 bytes
		e := router.InboxEntry{Kind: router.KindText, From: "sip:" + long, To: "+15125550100", CallID: long,
			Reason: long, ForwardTo: "x\xffy"}
		must(t, s.AddInbox(ctx, &e))
		cut := strings.Repeat("é", 512) // 1024 bytes, whole characters
		same(t, "from", e.From, "sip:"+cut[:1020])
		same(t, "call id", e.CallID, cut)
		same(t, "reason", e.Reason, cut)
		same(t, "forward to", e.ForwardTo, "x\uFFFDy")
		if e.At.IsZero() {
			t.Error("no time")
		}
		same(t, "stored", get(s.ListInbox(ctx, router.InboxFilter{}))(t), []router.InboxEntry{e})

		for _, v := range nasty {
			e := router.InboxEntry{Kind: router.KindCall, From: v, To: v, CallID: v, Reason: v, ForwardTo: v}
			must(t, s.AddInbox(ctx, &e))
			same(t, "nasty "+v, get(s.ListInbox(ctx, router.InboxFilter{Limit: 1}))(t), []router.InboxEntry{e})
		}

		err := s.AddInbox(ctx, &router.InboxEntry{Kind: "fax", From: "+15125550100"})
		isErr(t, err, store.ErrBadInbox, "fax")
		e = router.InboxEntry{Kind: router.KindCall}
		must(t, s.AddInbox(ctx, &e))
		isErr(t, s.DoneInbox(ctx, e.ID, strings.Repeat("u", 256), t0), store.ErrTooLong, "done_by")
	})
}

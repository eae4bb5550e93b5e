package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

func callRecord(t testing.TB, s *store.Store, node, username string, start time.Time) billing.CallRecord {
	t.Helper()
	r := billing.CallRecord{CallID: fmt.Sprintf("call-%s-%d@gw", node, start.UnixNano()), Node: node,
		Direction: billing.Inbound, From: "+15125550181", To: "+15125550100", Trunk: "telco",
		Username: username, Start: start}
	must(t, s.CreateCallRecord(ctx, &r))
	return r
}

func TestCallRecordLifecycle(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		start := t0
		r := billing.CallRecord{CallID: "a84b4c76e66710@pc33.example.com", Node: "gw1", Direction: billing.Inbound,
			From: "+15125550181", To: "+15125550100", Trunk: "telco", Start: start}
		must(t, s.CreateCallRecord(ctx, &r))
		if r.ID == 0 || !r.Start.Equal(start.Truncate(time.Microsecond)) || r.Start.Location() != time.UTC {
			t.Fatalf("CreateCallRecord set %+v", r)
		}
		same(t, "created", get(s.GetCallRecord(ctx, r.ID))(t), r)
		if !r.Open() || r.Duration() != 0 {
			t.Errorf("new record: open %v, duration %v", r.Open(), r.Duration())
		}

		// Routing facts arrive after the record was opened.
		must(t, s.UpdateCallRoute(ctx, r.ID, "+15125550100", "role", "buyer", "alice", 42, "role number buyer; lead 42 -> alice"))
		r.Dialed, r.NumberKind, r.Role, r.Username, r.LeadID, r.Route = "+15125550100", "role", "buyer", "alice", 42, "role number buyer; lead 42 -> alice"
		same(t, "routed", get(s.GetCallRecord(ctx, r.ID))(t), r)
		// An empty username keeps the one known.
		must(t, s.UpdateCallRoute(ctx, r.ID, "+15125550100", "role", "buyer", "", 43, "lead 43"))
		r.LeadID, r.Route = 43, "lead 43"
		same(t, "routed again", get(s.GetCallRecord(ctx, r.ID))(t), r)
		// The trunk that took an outbound call is known late too.
		must(t, s.SetCallTrunk(ctx, r.ID, "carrier-b"))
		r.Trunk = "carrier-b"
		same(t, "trunk set", get(s.GetCallRecord(ctx, r.ID))(t), r)
		isErr(t, s.SetCallTrunk(ctx, 999, "x"), directory.ErrNotFound, "999")

		// Answered by bob (the rotation moved on); the first answer counts.
		answer := start.Add(5*time.Second + 500*time.Millisecond)
		must(t, s.AnswerCallRecord(ctx, r.ID, answer, "bob"))
		must(t, s.AnswerCallRecord(ctx, r.ID, answer.Add(time.Second), "carol"))
		r.Answer, r.Username = answer.UTC().Truncate(time.Microsecond), "bob"
		same(t, "answered", get(s.GetCallRecord(ctx, r.ID))(t), r)

		end := answer.Add(61 * time.Second)
		must(t, s.EndCallRecord(ctx, r.ID, billing.CallEnd{At: end, Result: billing.ResultAnswered, SIPCode: 200, SIPReason: "BYE from callee"}))
		r.End, r.Result, r.SIPCode, r.SIPReason = end.UTC().Truncate(time.Microsecond), billing.ResultAnswered, 200, "BYE from callee"
		got := get(s.GetCallRecord(ctx, r.ID))(t)
		same(t, "ended", got, r)
		if got.Open() || got.Duration() != 61*time.Second {
			t.Errorf("ended record: open %v, duration %v, want 61s", got.Open(), got.Duration())
		}

		// Ending twice, or answering after the end, changes nothing.
		must(t, s.EndCallRecord(ctx, r.ID, billing.CallEnd{At: end.Add(time.Hour), Result: billing.ResultFailed, SIPCode: 500}))
		must(t, s.AnswerCallRecord(ctx, r.ID, end.Add(time.Hour), "dave"))
		same(t, "ended twice", get(s.GetCallRecord(ctx, r.ID))(t), r)

		// An unanswered call: busy.
		b := callRecord(t, s, "gw1", "", start.Add(time.Minute))
		must(t, s.AnswerCallRecord(ctx, b.ID, b.Start, "")) // no username: Username stays empty
		b2 := get(s.GetCallRecord(ctx, b.ID))(t)
		same(t, "answered without a name", b2.Username, "")
		c := callRecord(t, s, "gw1", "", start.Add(2*time.Minute))
		must(t, s.EndCallRecord(ctx, c.ID, billing.CallEnd{At: c.Start.Add(20 * time.Second), Result: billing.ResultBusy, SIPCode: 486, SIPReason: "Busy Here"}))
		c = get(s.GetCallRecord(ctx, c.ID))(t)
		if c.Duration() != 0 || c.Result != billing.ResultBusy || c.SIPCode != 486 {
			t.Errorf("busy call %+v, duration %v", c, c.Duration())
		}

		// Unknown records.
		isErr(t, s.AnswerCallRecord(ctx, 999, answer, "bob"), directory.ErrNotFound, "999")
		isErr(t, s.EndCallRecord(ctx, 999, billing.CallEnd{At: end, Result: billing.ResultFailed}), directory.ErrNotFound, "999")
		isErr(t, s.UpdateCallRoute(ctx, 999, "", "", "", "", 0, ""), directory.ErrNotFound, "999")
		_, err := s.GetCallRecord(ctx, 999)
		isErr(t, err, directory.ErrNotFound, "999")

		// Times are required.
		if err := s.CreateCallRecord(ctx, &billing.CallRecord{CallID: "x"}); err == nil {
			t.Error("a record without a start was created")
		}
		if err := s.EndCallRecord(ctx, b.ID, billing.CallEnd{Result: billing.ResultFailed}); err == nil {
			t.Error("a record was ended without an end time")
		}
		if err := s.AnswerCallRecord(ctx, b.ID, time.Time{}, "bob"); err == nil {
			t.Error("a record was answered without a time")
		}
	})
}

func TestCloseOpenCallRecords(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		openA := callRecord(t, s, "gw1", "", t0)
		answeredA := callRecord(t, s, "gw1", "alice", t0.Add(time.Second))
		must(t, s.AnswerCallRecord(ctx, answeredA.ID, t0.Add(3*time.Second), ""))
		endedA := callRecord(t, s, "gw1", "", t0.Add(2*time.Second))
		must(t, s.EndCallRecord(ctx, endedA.ID, billing.CallEnd{At: t0.Add(4 * time.Second), Result: billing.ResultNoAnswer, SIPCode: 480, SIPReason: "Temporarily Unavailable"}))
		openB := callRecord(t, s, "gw2", "", t0)
		openB2 := callRecord(t, s, "gw1 ", "", t0) // another node, whatever MySQL's "=" thinks

		endedBefore := get(s.GetCallRecord(ctx, endedA.ID))(t)
		restart := t0.Add(time.Hour).UTC().Truncate(time.Microsecond)
		same(t, "closed", get(s.CloseOpenCallRecords(ctx, "gw1", restart))(t), int64(2))
		same(t, "closed again", get(s.CloseOpenCallRecords(ctx, "gw1", restart.Add(time.Hour)))(t), int64(0))

		r := get(s.GetCallRecord(ctx, openA.ID))(t)
		if !r.End.Equal(restart) || r.Result != billing.ResultInterrupted || r.SIPCode != 0 || r.SIPReason != "gateway restarted" {
			t.Errorf("open record after restart: %+v", r)
		}
		r = get(s.GetCallRecord(ctx, answeredA.ID))(t)
		if !r.End.Equal(restart) || r.Result != billing.ResultInterrupted || r.SIPCode != 200 ||
			r.Duration() != time.Hour-3*time.Second {
			t.Errorf("answered record after restart: %+v", r)
		}
		same(t, "ended record untouched", get(s.GetCallRecord(ctx, endedA.ID))(t), endedBefore)
		same(t, "gw2's record untouched", get(s.GetCallRecord(ctx, openB.ID))(t), openB)
		same(t, "'gw1 ' record untouched", get(s.GetCallRecord(ctx, openB2.ID))(t), openB2)
		same(t, "open", get(s.ListCallRecords(ctx, billing.CallFilter{Open: true}))(t), []billing.CallRecord{openB, openB2})
	})
}

func TestListCallRecords(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		var all []billing.CallRecord
		for i := range 250 {
			username := []string{"alice", "bob", ""}[i%3]
			r := callRecord(t, s, "gw1", username, t0.Add(time.Duration(i)*time.Minute))
			if i%5 != 0 {
				must(t, s.EndCallRecord(ctx, r.ID, billing.CallEnd{At: r.Start.Add(time.Second), Result: billing.ResultNoAnswer, SIPCode: 408}))
				r = get(s.GetCallRecord(ctx, r.ID))(t)
			}
			all = append(all, r)
		}
		filter := func(keep func(billing.CallRecord) bool) []billing.CallRecord {
			out := []billing.CallRecord{}
			for _, r := range all {
				if keep(r) {
					out = append(out, r)
				}
			}
			return out
		}
		// pages lists everything f selects, page by page.
		pages := func(f billing.CallFilter) (out []billing.CallRecord, n int) {
			out = []billing.CallRecord{}
			for {
				page := get(s.ListCallRecords(ctx, f))(t)
				if len(page) == 0 {
					return out, n
				}
				n++
				out = append(out, page...)
				f.After = page[len(page)-1].ID
			}
		}

		same(t, "default limit", len(get(s.ListCallRecords(ctx, billing.CallFilter{}))(t)), billing.DefaultCallLimit)
		same(t, "limit", get(s.ListCallRecords(ctx, billing.CallFilter{Limit: 3, After: all[9].ID}))(t), all[10:13])
		got, n := pages(billing.CallFilter{Limit: 100})
		same(t, "all, paged", got, all)
		same(t, "pages", n, 3)
		same(t, "past the end", get(s.ListCallRecords(ctx, billing.CallFilter{After: all[249].ID}))(t), []billing.CallRecord{})

		got, _ = pages(billing.CallFilter{Username: "alice", Limit: 7})
		same(t, "alice's", got, filter(func(r billing.CallRecord) bool { return r.Username == "alice" }))
		got, _ = pages(billing.CallFilter{Username: "alice "})
		same(t, "'alice ''s", got, []billing.CallRecord{})
		got, _ = pages(billing.CallFilter{Open: true, Limit: 10})
		same(t, "open", got, filter(billing.CallRecord.Open))
		since, until := all[20].Start, all[40].Start
		got, _ = pages(billing.CallFilter{Since: since, Until: until, Limit: 6})
		same(t, "since/until", got, all[20:40])
		got, _ = pages(billing.CallFilter{Since: since, Until: until, Username: "bob", Open: true, Limit: 1})
		same(t, "all filters", got, filter(func(r billing.CallRecord) bool {
			return !r.Start.Before(since) && r.Start.Before(until) && r.Username == "bob" && r.Open()
		}))
		if len(got) == 0 {
			t.Error("the combined filter selects nothing; the test proves little")
		}
	})
}

func TestListCallRecordsMaxLimit(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i := range billing.MaxCallLimit + 1 {
			callRecord(t, s, "gw1", "", t0.Add(time.Duration(i)*time.Second))
		}
		same(t, "over the max", len(get(s.ListCallRecords(ctx, billing.CallFilter{Limit: 5000}))(t)), billing.MaxCallLimit)
	})
}

func TestCallRecordTexts(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i, v := range nasty {
			r := billing.CallRecord{CallID: v, Node: v, Direction: billing.Direction(v), From: v, To: v,
				Dialed: short(v, 32), NumberKind: short(v, 32), Role: v, Username: v, LeadID: int64(i), Trunk: v,
				Route: v, Start: t0, Result: billing.Result(short(v, 32)), SIPCode: 600 + i, SIPReason: v}
			must(t, s.CreateCallRecord(ctx, &r))
			same(t, "record", get(s.GetCallRecord(ctx, r.ID))(t), r)
			same(t, "by username", get(s.ListCallRecords(ctx, billing.CallFilter{Username: v}))(t), []billing.CallRecord{r})
			must(t, s.UpdateCallRoute(ctx, r.ID, short(v, 32), short(v, 32), v, v, 7, v))
			must(t, s.EndCallRecord(ctx, r.ID, billing.CallEnd{At: t0.Add(time.Second), Result: billing.Result(short(v, 32)), SIPCode: 500, SIPReason: v}))
			got := get(s.GetCallRecord(ctx, r.ID))(t)
			if got.Route != v || got.SIPReason != v || got.Username != v || got.LeadID != 7 {
				t.Errorf("after update and end: %+v", got)
			}
		}
		same(t, "node %", get(s.CloseOpenCallRecords(ctx, "%", t0))(t), int64(0))
		same(t, "username %", get(s.ListCallRecords(ctx, billing.CallFilter{Username: "%"}))(t)[0].Username, "%")

		// Texts from outside are cut on a character boundary rather than
		// refused; our own are refused when too long.
		long := strings.Repeat("é", 600) // 1200 bytes
		r := billing.CallRecord{CallID: long, From: long, To: long, Route: long, SIPReason: long, Start: t0}
		must(t, s.CreateCallRecord(ctx, &r))
		if r.CallID != strings.Repeat("é", 512) || r.SIPReason != strings.Repeat("é", 127) {
			t.Errorf("cut to %d and %d bytes", len(r.CallID), len(r.SIPReason))
		}
		same(t, "cut record", get(s.GetCallRecord(ctx, r.ID))(t), r)
		must(t, s.UpdateCallRoute(ctx, r.ID, "", "", "", "", 0, long+"x"))
		must(t, s.EndCallRecord(ctx, r.ID, billing.CallEnd{At: t0, SIPReason: "\xff" + long}))
		got := get(s.GetCallRecord(ctx, r.ID))(t)
		if got.Route != strings.Repeat("é", 512) || got.SIPReason != "\uFFFD"+strings.Repeat("é", 126) {
			t.Errorf("cut route %q, reason %q", got.Route, got.SIPReason)
		}
		for _, f := range []struct {
			col string
			set func(*billing.CallRecord)
		}{
			{"node", func(r *billing.CallRecord) { r.Node = strings.Repeat("n", 256) }},
			{"username", func(r *billing.CallRecord) { r.Username = strings.Repeat("u", 256) }},
			{"trunk", func(r *billing.CallRecord) { r.Trunk = strings.Repeat("t", 256) }},
			{"dialed", func(r *billing.CallRecord) { r.Dialed = strings.Repeat("1", 33) }},
			{"role", func(r *billing.CallRecord) { r.Role = strings.Repeat("r", 65) }},
		} {
			bad := billing.CallRecord{Start: t0}
			f.set(&bad)
			isErr(t, s.CreateCallRecord(ctx, &bad), store.ErrTooLong, f.col)
		}
		open := callRecord(t, s, "gw1", "", t0)
		isErr(t, s.EndCallRecord(ctx, open.ID, billing.CallEnd{At: t0, Result: billing.Result(strings.Repeat("x", 33))}), store.ErrTooLong, "result")
	})
}

// Call records outlive the users they name.
func TestCallRecordOutlivesUser(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		alice := user(t, s, "alice")
		r := callRecord(t, s, "gw1", "alice", t0)
		must(t, s.DeleteUser(ctx, alice.ID))
		same(t, "record", get(s.GetCallRecord(ctx, r.ID))(t), r)
	})
}

// The same calls read back the same from every backend.
func TestCallRecordBackendsAgree(t *testing.T) {
	drivers := storetest.Drivers()
	if len(drivers) < 2 {
		t.Skip("needs " + storetest.EnvMySQL)
	}
	var results [][]billing.CallRecord
	var contacts [][]directory.Contact
	for _, d := range drivers {
		s := storetest.Open(t, d, store.WithClock(newClock().Now))
		user(t, s, "alice")
		contact(t, s, "alice", "sip:alice@192.0.2.7", "gw1", t0.Add(time.Hour))
		a := callRecord(t, s, "gw1", "", t0)
		must(t, s.AnswerCallRecord(ctx, a.ID, t0.Add(time.Second), "alice"))
		must(t, s.EndCallRecord(ctx, a.ID, billing.CallEnd{At: t0.Add(time.Minute), Result: billing.ResultAnswered, SIPCode: 200}))
		callRecord(t, s, "gw1", "bob", t0.Add(time.Second))
		results = append(results, get(s.ListCallRecords(ctx, billing.CallFilter{}))(t))
		contacts = append(contacts, get(s.ListContacts(ctx, "alice", t0))(t))
	}
	for i := 1; i < len(results); i++ {
		same(t, drivers[i]+" vs "+drivers[0], results[i], results[0])
		same(t, "contacts "+drivers[i]+" vs "+drivers[0], contacts[i], contacts[0])
	}
}

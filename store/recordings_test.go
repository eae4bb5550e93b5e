package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// rec writes a recording of kind for username starting at start and
// returns it as stored.
func rec(t testing.TB, s *store.Store, kind recording.Kind, username string, leadID int64, start time.Time) recording.Recording {
	t.Helper()
	r := recording.Recording{CallID: fmt.Sprintf("call-%d@gw", start.UnixNano()), Kind: kind, Username: username,
		LeadID: leadID, From: "+15125550181", To: "+15125550100",
		Path: start.UTC().Format("2006/01/02/150405.000000") + ".wav", Start: start}
	must(t, s.CreateRecording(ctx, &r))
	return r
}

// finished is rec finished with size bytes.
func finished(t testing.TB, s *store.Store, kind recording.Kind, username string, start time.Time, size int64) recording.Recording {
	t.Helper()
	r := rec(t, s, kind, username, 0, start)
	must(t, s.FinishRecording(ctx, r.ID, 1000, size, strings.Repeat("ab", 32)))
	return get(s.GetRecording(ctx, r.ID))(t)
}

func recIDs(rs []recording.Recording) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestRecordingLifecycle(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		saveBy, expires := t0.Add(24*time.Hour), t0.Add(90*24*time.Hour)
		r := recording.Recording{CallRecordID: 7, CallID: "a84b4c76e66710@pc33.example.com", Kind: recording.KindCall,
			Username: "alice", LeadID: 42, From: "+15125550181", To: "+15125550100", Path: "2025/06/01/7.wav",
			Start: t0, DurationMS: 5, SizeBytes: 44, SHA256: "", Complete: true, SaveBy: saveBy, ExpiresAt: expires}
		must(t, s.CreateRecording(ctx, &r))
		if r.ID == 0 || r.Complete || !r.Start.Equal(t0.Truncate(time.Microsecond)) || r.Start.Location() != time.UTC ||
			r.SaveBy.Location() != time.UTC || !r.ExpiresAt.Equal(expires.Truncate(time.Microsecond)) {
			t.Fatalf("CreateRecording set %+v", r)
		}
		same(t, "created", get(s.GetRecording(ctx, r.ID))(t), r)

		// The writer finishes the file; finishing again replaces the facts.
		must(t, s.FinishRecording(ctx, r.ID, 61500, 1_000_044, strings.Repeat("0f", 32)))
		must(t, s.FinishRecording(ctx, r.ID, 61520, 1_000_364, strings.Repeat("1e", 32)))
		r.DurationMS, r.SizeBytes, r.SHA256, r.Complete = 61520, 1_000_364, strings.Repeat("1e", 32), true
		same(t, "finished", get(s.GetRecording(ctx, r.ID))(t), r)

		// Saved: kept until it expires, no longer due at SaveBy. Twice is
		// fine (MySQL matches the row though nothing changes).
		must(t, s.SaveRecording(ctx, r.ID))
		must(t, s.SaveRecording(ctx, r.ID))
		r.Saved, r.SaveBy = true, time.Time{}
		same(t, "saved", get(s.GetRecording(ctx, r.ID))(t), r)

		must(t, s.MarkHeard(ctx, r.ID))
		must(t, s.MarkHeard(ctx, r.ID))
		r.Heard = true
		same(t, "heard", get(s.GetRecording(ctx, r.ID))(t), r)

		// A voicemail without a call record or times to keep.
		v := recording.Recording{Kind: recording.KindVoicemail, Username: "bob", From: "+15125550199", To: "bob",
			Path: "vm/1.wav", Start: t0}
		must(t, s.CreateRecording(ctx, &v))
		same(t, "voicemail", get(s.GetRecording(ctx, v.ID))(t), v)
		if v.ID <= r.ID || !v.SaveBy.IsZero() || !v.ExpiresAt.IsZero() {
			t.Errorf("voicemail %+v", v)
		}

		must(t, s.DeleteRecording(ctx, r.ID))
		_, err := s.GetRecording(ctx, r.ID)
		isErr(t, err, directory.ErrNotFound, fmt.Sprint(r.ID))
		same(t, "left", recIDs(get(s.ListRecordings(ctx, recording.Filter{}))(t)), []int64{v.ID})

		// Unknown recordings, the deleted one among them.
		for _, id := range []int64{r.ID, 999} {
			word := fmt.Sprintf("recording %d", id)
			_, err := s.GetRecording(ctx, id)
			isErr(t, err, directory.ErrNotFound, word)
			isErr(t, s.FinishRecording(ctx, id, 1, 1, "x"), directory.ErrNotFound, word)
			isErr(t, s.SaveRecording(ctx, id), directory.ErrNotFound, word)
			isErr(t, s.MarkHeard(ctx, id), directory.ErrNotFound, word)
			isErr(t, s.DeleteRecording(ctx, id), directory.ErrNotFound, word)
		}

		// What the recording service must always give.
		for _, tc := range []struct {
			name, word string
			bad        func(*recording.Recording)
		}{
			{"no start", "no start time", func(r *recording.Recording) { r.Start = time.Time{} }},
			{"no kind", `kind ""`, func(r *recording.Recording) { r.Kind = "" }},
			{"other kind", `kind "Call"`, func(r *recording.Recording) { r.Kind = "Call" }},
			{"no path", "no path", func(r *recording.Recording) { r.Path = "" }},
			{"negative size", "negative", func(r *recording.Recording) { r.SizeBytes = -1 }},
		} {
			b := recording.Recording{Kind: recording.KindCall, Path: "x.wav", Start: t0}
			tc.bad(&b)
			isErr(t, s.CreateRecording(ctx, &b), store.ErrBadRecording, tc.word)
			if b.ID != 0 {
				t.Errorf("%s: got ID %d", tc.name, b.ID)
			}
		}
		isErr(t, s.FinishRecording(ctx, v.ID, -1, 0, ""), store.ErrBadRecording, "negative")
		same(t, "after the refusals", recIDs(get(s.ListRecordings(ctx, recording.Filter{}))(t)), []int64{v.ID})
	})
}

func TestListRecordings(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		var all []recording.Recording
		for i := range 30 {
			kind := recording.KindCall
			if i%4 == 3 {
				kind = recording.KindVoicemail
			}
			all = append(all, rec(t, s, kind, []string{"alice", "bob", "alice ", ""}[i%4], int64(i%3), t0.Add(time.Duration(i)*time.Minute)))
			if i%5 == 0 {
				must(t, s.FinishRecording(ctx, all[i].ID, 1000, 44, strings.Repeat("a", 64)))
				all[i] = get(s.GetRecording(ctx, all[i].ID))(t)
			}
		}
		where := func(keep func(recording.Recording) bool) []int64 {
			out := []int64{}
			for _, r := range all {
				if keep(r) {
					out = append(out, r.ID)
				}
			}
			return out
		}
		ids := func(rs []recording.Recording) []int64 { return recIDs(rs) }
		// pages lists everything f selects, page by page.
		pages := func(f recording.Filter) []int64 {
			out := []int64{}
			for {
				page := get(s.ListRecordings(ctx, f))(t)
				if len(page) == 0 {
					return out
				}
				out = append(out, ids(page)...)
				f.AfterID = page[len(page)-1].ID
			}
		}
		from, to := all[10].Start, all[20].Start
		for _, tc := range []struct {
			name string
			f    recording.Filter
			want []int64
		}{
			{"all", recording.Filter{}, ids(all)},
			{"unfinished", recording.Filter{Incomplete: true}, where(func(r recording.Recording) bool { return !r.Complete })},
			{"alice", recording.Filter{Username: "alice"}, where(func(r recording.Recording) bool { return r.Username == "alice" })},
			{"'alice '", recording.Filter{Username: "alice "}, where(func(r recording.Recording) bool { return r.Username == "alice " })},
			{"nobody's", recording.Filter{Username: "carol"}, []int64{}},
			{"voicemail", recording.Filter{Kind: recording.KindVoicemail}, where(func(r recording.Recording) bool { return r.Kind == recording.KindVoicemail })},
			{"calls", recording.Filter{Kind: recording.KindCall}, where(func(r recording.Recording) bool { return r.Kind == recording.KindCall })},
			{"kind 'call '", recording.Filter{Kind: "call "}, []int64{}},
			{"lead 2", recording.Filter{LeadID: 2}, where(func(r recording.Recording) bool { return r.LeadID == 2 })},
			{"from (inclusive)", recording.Filter{From: from}, ids(all[10:])},
			{"to (exclusive)", recording.Filter{To: to}, ids(all[:20])},
			{"from and to", recording.Filter{From: from, To: to}, ids(all[10:20])},
			{"a microsecond either side", recording.Filter{From: from.Add(-time.Microsecond), To: from.Add(time.Microsecond)}, ids(all[10:11])},
			{"after", recording.Filter{AfterID: all[25].ID}, ids(all[26:])},
			{"all filters", recording.Filter{Username: "bob", Kind: recording.KindCall, LeadID: 1, From: from, To: to},
				where(func(r recording.Recording) bool {
					return r.Username == "bob" && r.Kind == recording.KindCall && r.LeadID == 1 &&
						!r.Start.Before(from) && r.Start.Before(to)
				})},
		} {
			for _, limit := range []int{0, 1, 7} {
				f := tc.f
				f.Limit = limit
				same(t, fmt.Sprintf("%s, limit %d", tc.name, limit), pages(f), tc.want)
			}
		}
		same(t, "one page", ids(get(s.ListRecordings(ctx, recording.Filter{Limit: 3, AfterID: all[9].ID}))(t)), ids(all[10:13]))
		same(t, "records", get(s.ListRecordings(ctx, recording.Filter{Limit: 2}))(t), all[:2])
		if n := len(where(func(r recording.Recording) bool {
			return r.Username == "bob" && r.LeadID == 1 && !r.Start.Before(from) && r.Start.Before(to)
		})); n == 0 {
			t.Error("the combined filter selects nothing; the test proves little")
		}
	})
}

func TestListRecordingsLimits(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i := range 1001 {
			rec(t, s, recording.KindCall, "alice", 0, t0.Add(time.Duration(i)*time.Second))
		}
		for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {1, 1}, {1000, 1000}, {5000, 1000}} {
			same(t, fmt.Sprintf("limit %d", tc.limit), len(get(s.ListRecordings(ctx, recording.Filter{Limit: tc.limit}))(t)), tc.want)
			same(t, fmt.Sprintf("due, limit %d", tc.limit), len(get(s.DueRecordings(ctx, t0.Add(time.Hour), tc.limit))(t)), 0)
		}
	})
}

func TestDueRecordings(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		now := t0.Add(30 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
		add := func(complete, saved bool, saveBy, expires time.Time) int64 {
			t.Helper()
			r := recording.Recording{Kind: recording.KindCall, Username: "alice", Path: "r.wav", Start: t0,
				Saved: saved, SaveBy: saveBy, ExpiresAt: expires}
			must(t, s.CreateRecording(ctx, &r))
			if complete {
				must(t, s.FinishRecording(ctx, r.ID, 1, 44, "h"))
			}
			return r.ID
		}
		var zero time.Time
		before, after := now.Add(-time.Microsecond), now.Add(time.Microsecond)
		for _, tc := range []struct {
			name             string
			complete, saved  bool
			saveBy, expires  time.Time
			due, dueAtBefore bool // at now, and a microsecond earlier
		}{
			{"expires now", true, true, zero, now, true, false},
			{"expired a microsecond ago", true, true, zero, before, true, true},
			{"expires in a microsecond", true, true, zero, after, false, false},
			{"expired, still being written", false, false, zero, now, true, false},
			{"unsaved, save by now", true, false, now, zero, true, false},
			{"unsaved, save by a microsecond ago", true, false, before, zero, true, true},
			{"unsaved, save by in a microsecond", true, false, after, zero, false, false},
			{"unsaved, save by passed, still being written", false, false, before, zero, false, false},
			{"saved, save by passed", true, true, before, zero, false, false},
			{"unsaved, nothing to save by", true, false, zero, zero, false, false},
			{"kept indefinitely", true, true, zero, zero, false, false},
			{"unsaved, save by passed, expires later", true, false, before, after, true, true},
			{"unsaved, save by later, expired", true, false, after, before, true, true},
		} {
			id := add(tc.complete, tc.saved, tc.saveBy, tc.expires)
			for _, at := range []struct {
				when time.Time
				want bool
			}{{now, tc.due}, {before, tc.dueAtBefore}} {
				got := false
				for _, r := range get(s.DueRecordings(ctx, at.when, 1000))(t) {
					got = got || r.ID == id
				}
				if got != at.want {
					t.Errorf("%s: due at %s: %v, want %v", tc.name, at.when.Format(time.RFC3339Nano), got, at.want)
				}
			}
		}
		// By ID, up to the limit; a zone makes no difference.
		due := get(s.DueRecordings(ctx, now, 0))(t)
		same(t, "due", len(due), 7)
		same(t, "first two", get(s.DueRecordings(ctx, now.In(time.FixedZone("X", -5*3600)), 2))(t), due[:2])
		if due[0].ID >= due[1].ID {
			t.Errorf("not by ID: %v", recIDs(due))
		}
		// Saving an unsaved one takes it off the list.
		unsaved := get(s.DueRecordings(ctx, now, 0))(t)[4]
		if unsaved.Saved {
			t.Fatalf("picked %+v", unsaved)
		}
		must(t, s.SaveRecording(ctx, unsaved.ID))
		same(t, "due after a save", len(get(s.DueRecordings(ctx, now, 0))(t)), 6)
	})
}

func TestRecordingBytes(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		same(t, "none", get(s.RecordingBytes(ctx))(t), int64(0))
		a := finished(t, s, recording.KindCall, "alice", t0, 5_000_000_000) // more than 32 bits
		rec(t, s, recording.KindCall, "alice", 0, t0)                       // being written: 0 so far
		v := finished(t, s, recording.KindVoicemail, "bob", t0, 44)
		same(t, "all", get(s.RecordingBytes(ctx))(t), int64(5_000_000_044))
		must(t, s.DeleteRecording(ctx, a.ID))
		same(t, "after a delete", get(s.RecordingBytes(ctx))(t), int64(44))
		must(t, s.DeleteRecording(ctx, v.ID))
		same(t, "after both", get(s.RecordingBytes(ctx))(t), int64(0))
	})
}

func TestUnheardVoicemails(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		count := func(user string) [2]int {
			t.Helper()
			unheard, total, err := s.UnheardVoicemails(ctx, user)
			must(t, err)
			return [2]int{unheard, total}
		}
		same(t, "none", count("alice"), [2]int{0, 0})
		v1 := rec(t, s, recording.KindVoicemail, "alice", 0, t0)
		rec(t, s, recording.KindVoicemail, "alice", 0, t0.Add(time.Minute))
		rec(t, s, recording.KindVoicemail, "alice", 0, t0.Add(2*time.Minute))
		rec(t, s, recording.KindCall, "alice", 0, t0)       // not a voicemail
		rec(t, s, recording.KindVoicemail, "alice ", 0, t0) // another box
		rec(t, s, recording.KindVoicemail, "bob", 0, t0)    // another box
		rec(t, s, recording.KindVoicemail, "%", 0, t0)      // a wildcard matches itself only
		same(t, "alice", count("alice"), [2]int{3, 3})
		same(t, "'alice '", count("alice "), [2]int{1, 1})
		same(t, "%", count("%"), [2]int{1, 1})
		same(t, "ALICE", count("ALICE"), [2]int{0, 0})
		must(t, s.MarkHeard(ctx, v1.ID))
		same(t, "one heard", count("alice"), [2]int{2, 3})
		must(t, s.DeleteRecording(ctx, v1.ID))
		same(t, "heard one deleted", count("alice"), [2]int{2, 2})
	})
}

func TestRecordingTexts(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i, v := range nasty {
			r := recording.Recording{CallRecordID: int64(i), CallID: v, Kind: recording.KindVoicemail, Username: v,
				LeadID: int64(i), From: v, To: v, Path: v, Start: t0, SHA256: short(v, 64)}
			must(t, s.CreateRecording(ctx, &r))
			same(t, "recording", get(s.GetRecording(ctx, r.ID))(t), r)
			same(t, "by username", get(s.ListRecordings(ctx, recording.Filter{Username: v}))(t), []recording.Recording{r})
			unheard, total, err := s.UnheardVoicemails(ctx, v)
			must(t, err)
			same(t, "voicemails", [2]int{unheard, total}, [2]int{1, 1})
		}

		// Texts from outside are cut on a character boundary; our own are
		// refused when too long.
		long := strings.Repeat("é", 600) // 1200 bytes
		r := recording.Recording{CallID: long, Kind: recording.KindCall, From: long, To: "\xff" + long, Path: "p", Start: t0}
		must(t, s.CreateRecording(ctx, &r))
		if r.CallID != strings.Repeat("é", 512) || r.To != "\uFFFD"+strings.Repeat("é", 510) {
			t.Errorf("cut to %d and %d bytes", len(r.CallID), len(r.To))
		}
		same(t, "cut recording", get(s.GetRecording(ctx, r.ID))(t), r)
		for _, f := range []struct {
			col string
			set func(*recording.Recording)
		}{
			{"username", func(r *recording.Recording) { r.Username = strings.Repeat("u", 256) }},
			{"path", func(r *recording.Recording) { r.Path = strings.Repeat("p", 1025) }},
			{"sha256", func(r *recording.Recording) { r.SHA256 = strings.Repeat("0", 65) }},
		} {
			bad := recording.Recording{Kind: recording.KindCall, Path: "p", Start: t0}
			f.set(&bad)
			isErr(t, s.CreateRecording(ctx, &bad), store.ErrTooLong, f.col)
		}
		isErr(t, s.FinishRecording(ctx, r.ID, 1, 1, strings.Repeat("0", 65)), store.ErrTooLong, "sha256")
	})
}

func TestCallRecordConsentAndRecording(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		r := callRecord(t, s, "gw1", "alice", t0)
		same(t, "new record", [3]any{r.Consent, r.ConsentAt, r.RecordingID}, [3]any{"", time.Time{}, int64(0)})

		at := t0.Add(1500 * time.Millisecond)
		must(t, s.SetCallConsent(ctx, r.ID, "played", at))
		r.Consent, r.ConsentAt = "played", at.UTC().Truncate(time.Microsecond)
		same(t, "consent", get(s.GetCallRecord(ctx, r.ID))(t), r)
		// Set again, the same or another: replaced (and MySQL's matched rows
		// count an unchanged row).
		must(t, s.SetCallConsent(ctx, r.ID, "played", at))
		must(t, s.SetCallConsent(ctx, r.ID, "skipped:one-party:TX", at.Add(time.Second)))
		r.Consent, r.ConsentAt = "skipped:one-party:TX", r.ConsentAt.Add(time.Second)
		same(t, "consent again", get(s.GetCallRecord(ctx, r.ID))(t), r)
		must(t, s.SetCallConsent(ctx, r.ID, "", time.Time{}))
		r.Consent, r.ConsentAt = "", time.Time{}
		same(t, "consent cleared", get(s.GetCallRecord(ctx, r.ID))(t), r)

		// The call's recording is the one naming the call record; another
		// call's recording does not count.
		other := recording.Recording{CallRecordID: r.ID + 1000, CallID: "x", Kind: recording.KindCall, Path: "x.wav", Start: t0}
		must(t, s.CreateRecording(ctx, &other))
		same(t, "not recorded", get(s.GetCallRecord(ctx, r.ID))(t).RecordingID, int64(0))
		v := recording.Recording{CallRecordID: r.ID, CallID: r.CallID, Kind: recording.KindCall, Username: "alice", Path: "v.wav", Start: t0}
		must(t, s.CreateRecording(ctx, &v))
		r.RecordingID = v.ID
		same(t, "recording", get(s.GetCallRecord(ctx, r.ID))(t), r)
		same(t, "listed", get(s.ListCallRecords(ctx, billing.CallFilter{}))(t), []billing.CallRecord{r})
		// A deleted recording (retention) is no longer named.
		must(t, s.DeleteRecording(ctx, v.ID))
		same(t, "recording deleted", get(s.GetCallRecord(ctx, r.ID))(t).RecordingID, int64(0))

		// Consent is written at creation too.
		c := billing.CallRecord{CallID: "c", Start: t0, Consent: "played", ConsentAt: t0}
		must(t, s.CreateCallRecord(ctx, &c))
		if !c.ConsentAt.Equal(t0.Truncate(time.Microsecond)) || c.ConsentAt.Location() != time.UTC {
			t.Errorf("created with consent at %v", c.ConsentAt)
		}
		same(t, "created with consent", get(s.GetCallRecord(ctx, c.ID))(t), c)

		isErr(t, s.SetCallConsent(ctx, 999, "played", at), directory.ErrNotFound, "call record 999")
		isErr(t, s.SetCallConsent(ctx, r.ID, strings.Repeat("c", 256), at), store.ErrTooLong, "consent")
		bad := billing.CallRecord{Start: t0, Consent: strings.Repeat("c", 256)}
		isErr(t, s.CreateCallRecord(ctx, &bad), store.ErrTooLong, "consent")
		for _, v := range nasty {
			must(t, s.SetCallConsent(ctx, r.ID, v, at))
			same(t, "consent "+v, get(s.GetCallRecord(ctx, r.ID))(t).Consent, v)
		}
	})
}

// The same recordings read back the same from every backend.
func TestRecordingBackendsAgree(t *testing.T) {
	drivers := storetest.Drivers()
	if len(drivers) < 2 {
		t.Skip("needs " + storetest.EnvMySQL)
	}
	type result struct {
		list, due      []recording.Recording
		bytes          int64
		unheard, total int
		call           billing.CallRecord
	}
	var results []result
	for _, d := range drivers {
		s := storetest.Open(t, d, store.WithClock(newClock().Now))
		a := finished(t, s, recording.KindCall, "alice", t0, 1234)
		must(t, s.SaveRecording(ctx, a.ID))
		c := callRecord(t, s, "gw1", "alice", t0)
		must(t, s.SetCallConsent(ctx, c.ID, "played", t0.Add(time.Second)))
		r := recording.Recording{CallRecordID: c.ID, Kind: recording.KindVoicemail, Username: "alice", Path: "vm.wav", Start: t0,
			SaveBy: t0.Add(time.Hour), ExpiresAt: t0.Add(48 * time.Hour)}
		must(t, s.CreateRecording(ctx, &r))
		must(t, s.FinishRecording(ctx, r.ID, 10, 20, "h"))
		must(t, s.MarkHeard(ctx, r.ID))
		var res result
		res.list = get(s.ListRecordings(ctx, recording.Filter{}))(t)
		res.due = get(s.DueRecordings(ctx, t0.Add(2*time.Hour), 0))(t)
		res.bytes = get(s.RecordingBytes(ctx))(t)
		var err error
		res.unheard, res.total, err = s.UnheardVoicemails(ctx, "alice")
		must(t, err)
		res.call = get(s.GetCallRecord(ctx, c.ID))(t)
		results = append(results, res)
	}
	for i := 1; i < len(results); i++ {
		same(t, drivers[i]+" vs "+drivers[0], results[i], results[0])
	}
}

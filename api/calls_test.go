package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
)

// call is a decoded item of /api/v1/calls.
type call struct {
	ID              int64     `json:"id"`
	CallID          string    `json:"call_id"`
	Direction       string    `json:"direction"`
	From            string    `json:"from"`
	To              string    `json:"to"`
	Dialed          string    `json:"dialed"`
	NumberKind      string    `json:"number_kind"`
	Role            string    `json:"role"`
	User            string    `json:"user"`
	LeadID          int64     `json:"lead_id"`
	Trunk           string    `json:"trunk"`
	Route           string    `json:"route"`
	Start           time.Time `json:"start"`
	Answer          time.Time `json:"answer"`
	End             time.Time `json:"end"`
	Result          string    `json:"result"`
	SIPCode         int       `json:"sip_code"`
	SIPReason       string    `json:"sip_reason"`
	DurationSeconds int64     `json:"duration_seconds"`
}

// callT0 is when the test calls start, one an hour.
var callT0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// testCall describes a record the tests write through the store.
type testCall struct {
	user      string
	dir       billing.Direction
	lead      int64
	answerIn  time.Duration // 0: never answered
	endIn     time.Duration // 0: still running
	result    billing.Result
	code      int
	reason    string
	answerAs  string // the agent AnswerCallRecord names, if any
	createdAs string // Username at creation, if not user
}

// addCalls writes the records, the i-th starting at callT0 + i hours, and
// returns their IDs.
func addCalls(t *testing.T, e *env, cs []testCall) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, len(cs))
	for i, c := range cs {
		start := callT0.Add(time.Duration(i) * time.Hour)
		r := billing.CallRecord{CallID: fmt.Sprintf("call-%d@test", i), Node: "gw1", Direction: c.dir,
			From: "+15125550181", To: "+15125550100", Dialed: "+15125550100", NumberKind: "role", Role: "buyer",
			Username: c.user, LeadID: c.lead, Trunk: "telco", Route: "role number buyer", Start: start}
		if c.answerAs != "" {
			r.Username = c.createdAs
		}
		if err := e.st.CreateCallRecord(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if c.answerIn != 0 {
			if err := e.st.AnswerCallRecord(ctx, r.ID, start.Add(c.answerIn), c.answerAs); err != nil {
				t.Fatal(err)
			}
		}
		if c.endIn != 0 {
			if err := e.st.EndCallRecord(ctx, r.ID, billing.CallEnd{At: start.Add(c.endIn), Result: c.result,
				SIPCode: c.code, SIPReason: c.reason}); err != nil {
				t.Fatal(err)
			}
		}
		ids[i] = r.ID
	}
	return ids
}

// standardCalls: alice has calls 0, 2, 4 and 6, bob 1 and 5; 3 reached
// nobody. 2 and 5 are still running.
var standardCalls = []testCall{
	// Answered by alice 2.5 s in (named at answer), talked 63.4 s.
	{user: "alice", dir: billing.Inbound, lead: 42, answerIn: 2500 * time.Millisecond, endIn: 65900 * time.Millisecond,
		result: billing.ResultAnswered, code: 200, reason: "BYE from callee", answerAs: "alice"},
	{user: "bob", dir: billing.Outbound, endIn: 30 * time.Second, result: billing.ResultNoAnswer, code: 480, reason: "Temporarily Unavailable"},
	{user: "alice", dir: billing.Inbound, answerIn: 3 * time.Second},
	{dir: billing.Inbound, endIn: time.Second, result: billing.ResultNoRoute, code: 404, reason: "Not Found"},
	{user: "alice", dir: billing.Internal, endIn: 2 * time.Second, result: billing.ResultBusy, code: 486, reason: "Busy Here"},
	{user: "bob", dir: billing.Inbound},
	{user: "alice", dir: billing.Outbound, answerIn: 10 * time.Second, endIn: 20 * time.Second,
		result: billing.ResultAnswered, code: 200, reason: "BYE from caller"},
}

func callIDs(cs []call) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// pick returns ids[i] for each i.
func pick(ids []int64, is ...int) []int64 {
	out := make([]int64, len(is))
	for k, i := range is {
		out[k] = ids[i]
	}
	return out
}

func TestCalls(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		bob := e.addUser("bob", directory.RoleAgent)
		mia := e.addUser("mia", directory.RoleManager)

		// No calls yet: an empty list, not null.
		var empty page[call]
		e.do(t, "GET", "/api/v1/calls", e.boss, nil).want(t, http.StatusOK, &empty)
		if empty.Items == nil || len(empty.Items) != 0 || empty.Next != "" {
			t.Fatalf("empty list %+v", empty)
		}

		ids := addCalls(t, e, standardCalls)
		all := pick(ids, 0, 1, 2, 3, 4, 5, 6)

		// A manager sees every call, oldest first, here over 3 pages.
		var pages [][]int64
		next := "/api/v1/calls?limit=3"
		for next != "" {
			var p page[call]
			r := e.do(t, "GET", next, mia, nil).want(t, http.StatusOK, &p)
			pages = append(pages, callIDs(p.Items))
			next = ""
			if link := r.header.Get("Link"); link != "" {
				next = link[1:strings.Index(link, ">")]
			}
			if (next == "") != (p.Next == "") {
				t.Fatalf("next %q with Link %q", p.Next, r.header.Get("Link"))
			}
		}
		if want := [][]int64{all[:3], all[3:6], all[6:]}; !slices.EqualFunc(pages, want, slices.Equal) {
			t.Fatalf("manager's pages %v, want %v", pages, want)
		}
		if got := callIDs(listAll[call](t, e, "/api/v1/calls", e.boss)); !slices.Equal(got, all) {
			t.Fatalf("primary manager sees %v, want %v", got, all)
		}

		// The fields, snake_case; answer, end and lead_id only when set.
		var raw page[map[string]any]
		e.do(t, "GET", "/api/v1/calls", mia, nil).want(t, http.StatusOK, &raw)
		keys := func(i int) []string { return slices.Sorted(maps.Keys(raw.Items[i])) }
		base := []string{"call_id", "dialed", "direction", "duration_seconds", "from", "id", "number_kind", "result",
			"role", "route", "sip_code", "sip_reason", "start", "to", "trunk", "user"}
		for i, extra := range map[int][]string{
			0: {"answer", "end", "lead_id"},
			1: {"end"},
			2: {"answer"},
			5: nil,
		} {
			if want := slices.Sorted(slices.Values(append(slices.Clone(base), extra...))); !slices.Equal(keys(i), want) {
				t.Errorf("call %d has fields %v, want %v", i, keys(i), want)
			}
		}

		var c call
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[0]), mia, nil).want(t, http.StatusOK, &c)
		want := call{ID: ids[0], CallID: "call-0@test", Direction: "inbound", From: "+15125550181", To: "+15125550100",
			Dialed: "+15125550100", NumberKind: "role", Role: "buyer", User: "alice", LeadID: 42, Trunk: "telco",
			Route: "role number buyer", Start: callT0, Answer: callT0.Add(2500 * time.Millisecond),
			End: callT0.Add(65900 * time.Millisecond), Result: "answered", SIPCode: 200, SIPReason: "BYE from callee",
			DurationSeconds: 63}
		if c != want {
			t.Fatalf("call 0\n got %+v\nwant %+v", c, want)
		}
		// Running (answered or not) and unanswered calls last 0 s.
		for _, i := range []int{1, 2, 3, 5} {
			c = call{}
			e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[i]), e.boss, nil).want(t, http.StatusOK, &c)
			if c.DurationSeconds != 0 {
				t.Errorf("call %d lasts %d s", i, c.DurationSeconds)
			}
		}
		c = call{}
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[6]), e.boss, nil).want(t, http.StatusOK, &c)
		if c.DurationSeconds != 10 || c.Direction != "outbound" || c.LeadID != 0 {
			t.Errorf("call 6 %+v", c)
		}
		c = call{}
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[2]), e.boss, nil).want(t, http.StatusOK, &c)
		if !c.End.IsZero() || c.Result != "" || c.SIPCode != 0 || !c.Answer.Equal(callT0.Add(2*time.Hour+3*time.Second)) {
			t.Errorf("running call 2 %+v", c)
		}

		// Filters.
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"user=bob", pick(ids, 1, 5)},
			{"user=ALICE", pick(ids, 0, 2, 4, 6)},
			{"user=carol", nil},
			{"open=true", pick(ids, 2, 5)},
			{"open=false", all},
			{"open=true&user=alice", pick(ids, 2)},
			{"since=2025-03-10T11:00:00Z", all[2:]},
			{"until=2025-03-10T11:00:00Z", all[:2]},
			{"since=2025-03-10T10:00:00Z&until=2025-03-10T12:00:00Z", pick(ids, 1, 2)},
			{"since=2025-03-10T10:59:59.999999Z&until=2025-03-10T11:00:00.000001Z", pick(ids, 2)},
			// A zone offset, encoded or as the space an unencoded "+" becomes.
			{"since=" + url.QueryEscape("2025-03-10T15:00:00+01:00"), all[5:]},
			{"since=2025-03-10T15:00:00+01:00", all[5:]},
			{"until=2025-03-10T05:00:00-05:00", all[:1]},
			{"after=" + e.cursorOf(t, ids[4]), all[5:]},
		} {
			for _, limit := range []string{"", "&limit=1"} {
				got := callIDs(listAll[call](t, e, "/api/v1/calls?"+tc.query+limit, mia))
				if !slices.Equal(got, tc.want) {
					t.Errorf("?%s%s: %v, want %v", tc.query, limit, got, tc.want)
				}
			}
		}

		// An agent sees only their own calls, whatever ?user= asks.
		for _, q := range []string{"", "?user=bob", "?user=", "?limit=1", "?limit=2&user=boss"} {
			if got, want := callIDs(listAll[call](t, e, "/api/v1/calls"+q, alice)), pick(ids, 0, 2, 4, 6); !slices.Equal(got, want) {
				t.Errorf("alice %s sees %v, want %v", q, got, want)
			}
		}
		if got, want := callIDs(listAll[call](t, e, "/api/v1/calls?open=true", alice)), pick(ids, 2); !slices.Equal(got, want) {
			t.Errorf("alice's open calls %v, want %v", got, want)
		}
		if got, want := callIDs(listAll[call](t, e, "/api/v1/calls?user=alice", bob)), pick(ids, 1, 5); !slices.Equal(got, want) {
			t.Errorf("bob sees %v, want %v", got, want)
		}
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[4]), alice, nil).want(t, http.StatusOK, nil)
		// Another's call, or one of nobody's, is as missing as a record
		// that does not exist.
		missing := e.do(t, "GET", "/api/v1/calls/999999", alice, nil).wantProblem(t, http.StatusNotFound)
		for _, i := range []int{1, 3, 5} {
			p := e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[i]), alice, nil).wantProblem(t, http.StatusNotFound)
			if p.Type != missing.Type || p.Title != missing.Title || p.Detail != fmt.Sprintf("call record %d", ids[i]) {
				t.Errorf("hidden call %d: %+v, missing: %+v", i, p, missing)
			}
		}
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[1]), mia, nil).want(t, http.StatusOK, nil)

		// Bad parameters name themselves.
		for q, field := range map[string]string{
			"limit=0":                           "limit",
			"limit=501":                         "limit",
			"limit=x":                           "limit",
			"after=" + "!!":                     "after",
			"after=" + url.QueryEscape("LTE"):   "after", // "-1"
			"since=yesterday":                   "since",
			"since=2025-03-10":                  "since",
			"since=2025-03-10T09:00:00":         "since", // no zone
			"since=2025-13-01T00:00:00Z":        "since",
			"until=10%20March":                  "until",
			"until=0000-01-01T00:00:00Z":        "until",
			"until=0001-01-01T00:30:00%2B01:00": "until", // year 0 in UTC
			"since=2025-03-10T12:00:00Z&until=2025-03-10T12:00:00Z": "until",
			"since=2025-03-10T12:00:00Z&until=2025-03-10T11:00:00Z": "until",
			"open=maybe": "open",
			"open=":      "",
		} {
			r := e.do(t, "GET", "/api/v1/calls?"+q, alice, nil)
			if field == "" {
				r.want(t, http.StatusOK, nil)
				continue
			}
			p := r.wantProblem(t, http.StatusBadRequest, field)
			if !strings.Contains(p.Detail, `"`+field+`"`) {
				t.Errorf("?%s: detail %q does not name %s", q, p.Detail, field)
			}
		}
		for _, id := range []string{"x", "0", "-3", "1.5"} {
			e.do(t, "GET", "/api/v1/calls/"+id, mia, nil).wantProblem(t, http.StatusBadRequest, "id")
		}

		// A token is required.
		e.do(t, "GET", "/api/v1/calls", "", nil).wantProblem(t, http.StatusUnauthorized)
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[0]), "", nil).wantProblem(t, http.StatusUnauthorized)
	})
}

// TestCallsAnsweredBy: the agent is the one who answered, whoever the
// record named when it was opened.
func TestCallsAnsweredBy(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		bob := e.addUser("bob", directory.RoleAgent)
		ids := addCalls(t, e, []testCall{
			{dir: billing.Inbound, createdAs: "alice", answerAs: "bob", answerIn: time.Second, endIn: 4 * time.Second,
				result: billing.ResultAnswered, code: 200},
		})
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[0]), alice, nil).wantProblem(t, http.StatusNotFound)
		var c call
		e.do(t, "GET", fmt.Sprintf("/api/v1/calls/%d", ids[0]), bob, nil).want(t, http.StatusOK, &c)
		if c.User != "bob" || c.DurationSeconds != 3 {
			t.Fatalf("call %+v", c)
		}
		if n := len(listAll[call](t, e, "/api/v1/calls", alice)); n != 0 {
			t.Fatalf("alice sees %d calls", n)
		}
	})
}

// cursorOf is the cursor a page ending at id announces.
func (e *env) cursorOf(t *testing.T, id int64) string {
	t.Helper()
	var p page[call]
	for next := "/api/v1/calls?limit=1"; ; {
		r := e.do(t, "GET", next, e.boss, nil).want(t, http.StatusOK, &p)
		if len(p.Items) == 0 || p.Next == "" {
			t.Fatalf("no call %d", id)
		}
		if p.Items[0].ID == id {
			return p.Next
		}
		link := r.header.Get("Link")
		next = link[1:strings.Index(link, ">")]
	}
}

// registrationJSON is a decoded item of /api/v1/users/{id}/registrations.
type registrationJSON struct {
	URI       string    `json:"uri"`
	Source    string    `json:"source"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
	Node      string    `json:"node"`
}

func TestRegistrations(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		bob := e.addUser("bob", directory.RoleAgent)
		mia := e.addUser("mia", directory.RoleManager)
		e.addUser("carol", directory.RoleAgent)

		ctx := context.Background()
		later := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		put := func(user, uri, node string, expires time.Time) registrationJSON {
			t.Helper()
			c := directory.Contact{Username: user, URI: uri, Source: "udp:203.0.113.5:5062", CallID: "reg-" + uri,
				CSeq: 1, UserAgent: "Zoiper 5", Node: node, Expires: expires}
			if err := e.st.PutContact(ctx, &c); err != nil {
				t.Fatal(err)
			}
			return registrationJSON{URI: c.URI, Source: c.Source, UserAgent: c.UserAgent, Expires: c.Expires, Node: c.Node}
		}
		a1 := put("alice", "sip:alice@192.0.2.7:5062;transport=udp", "gw1", later)
		put("alice", "sip:alice@192.0.2.99", "gw1", time.Now().Add(-time.Minute)) // expired
		a2 := put("alice", "sip:alice@198.51.100.9:5060", "gw2", later.Add(time.Minute))
		a3 := put("alice", "sip:alice@[2001:db8::1]:5060;transport=tcp", "gw2", later.Add(2*time.Minute))
		b1 := put("bob", "sip:bob@192.0.2.8", "gw1", later)

		path := func(user string) string { return fmt.Sprintf("/api/v1/users/%d/registrations", e.users[user]) }
		wantAlice := []registrationJSON{a1, a2, a3}

		// Managers see anyone's; over 3 pages of one.
		var pages int
		for next := path("alice") + "?limit=1"; next != ""; pages++ {
			var p page[registrationJSON]
			r := e.do(t, "GET", next, mia, nil).want(t, http.StatusOK, &p)
			if len(p.Items) != 1 || p.Items[0] != wantAlice[pages] {
				t.Fatalf("page %d: %+v", pages, p.Items)
			}
			next = ""
			if link := r.header.Get("Link"); link != "" {
				next = link[1:strings.Index(link, ">")]
			}
		}
		if pages != 3 {
			t.Fatalf("%d pages", pages)
		}
		for _, tok := range []string{e.boss, mia} {
			if got := listAll[registrationJSON](t, e, path("alice"), tok); !slices.Equal(got, wantAlice) {
				t.Fatalf("alice's registrations %+v, want %+v", got, wantAlice)
			}
			if got := listAll[registrationJSON](t, e, path("bob"), tok); !slices.Equal(got, []registrationJSON{b1}) {
				t.Fatalf("bob's registrations %+v", got)
			}
		}
		// Exactly these fields.
		var raw page[map[string]any]
		e.do(t, "GET", path("bob"), mia, nil).want(t, http.StatusOK, &raw)
		if got := slices.Sorted(maps.Keys(raw.Items[0])); !slices.Equal(got, []string{"expires", "node", "source", "uri", "user_agent"}) {
			t.Fatalf("fields %v", got)
		}
		// None: an empty list.
		r := e.do(t, "GET", path("carol"), mia, nil).want(t, http.StatusOK, nil)
		if !contains(r.body, `"items":[]`) {
			t.Fatalf("carol's registrations %s", r.body)
		}

		// An agent sees their own only; another user's are as missing as
		// a user that does not exist.
		if got := listAll[registrationJSON](t, e, path("alice"), alice); !slices.Equal(got, wantAlice) {
			t.Fatalf("alice sees %+v", got)
		}
		if got := listAll[registrationJSON](t, e, path("bob"), bob); !slices.Equal(got, []registrationJSON{b1}) {
			t.Fatalf("bob sees %+v", got)
		}
		missing := e.do(t, "GET", "/api/v1/users/999999/registrations", alice, nil).wantProblem(t, http.StatusNotFound)
		for _, u := range []string{"bob", "boss", "mia"} {
			p := e.do(t, "GET", path(u), alice, nil).wantProblem(t, http.StatusNotFound)
			if p.Type != missing.Type || p.Detail != fmt.Sprintf("user %d", e.users[u]) {
				t.Errorf("alice asks for %s's: %+v, missing: %+v", u, p, missing)
			}
		}
		e.do(t, "GET", "/api/v1/users/999999/registrations", mia, nil).wantProblem(t, http.StatusNotFound)

		// Bad parameters; a token is required.
		e.do(t, "GET", "/api/v1/users/me/registrations", alice, nil).wantProblem(t, http.StatusBadRequest, "id")
		e.do(t, "GET", path("alice")+"?limit=0", alice, nil).wantProblem(t, http.StatusBadRequest, "limit")
		e.do(t, "GET", path("alice")+"?after=~", alice, nil).wantProblem(t, http.StatusBadRequest, "after")
		e.do(t, "GET", path("alice"), "", nil).wantProblem(t, http.StatusUnauthorized)

		// Removing the user removes the registrations with it.
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", e.users["bob"]), e.boss, nil).want(t, http.StatusNoContent, nil)
		e.do(t, "GET", path("bob"), e.boss, nil).wantProblem(t, http.StatusNotFound)
	})
}

// TestCallsNotEnabled: without WithCallRecords and WithContacts, the
// endpoints exist (behind the token) and say they are not enabled.
func TestCallsNotEnabled(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		bare := *e
		bare.srv = httptest.NewServer(api.New(e.svc).Handler())
		t.Cleanup(bare.srv.Close)
		for _, path := range []string{"/api/v1/calls", "/api/v1/calls?since=bad", "/api/v1/calls/1",
			fmt.Sprintf("/api/v1/users/%d/registrations", e.users["alice"])} {
			for _, tok := range []string{e.boss, alice} {
				p := bare.do(t, "GET", path, tok, nil).wantProblem(t, http.StatusNotFound)
				if !strings.HasSuffix(p.Type, "/not-enabled") || !strings.Contains(p.Detail, "not enabled") {
					t.Errorf("%s: %+v", path, p)
				}
			}
			bare.do(t, "GET", path, "", nil).wantProblem(t, http.StatusUnauthorized)
		}
		var p page[json.RawMessage]
		e.do(t, "GET", "/api/v1/calls", alice, nil).want(t, http.StatusOK, &p)
	})
}

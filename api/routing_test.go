package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// fakeRouter is a LeadRouter that answers what the test scripted and
// remembers what it was asked. The real router has its own tests; these
// are about the HTTP side.
type fakeRouter struct {
	mu       sync.Mutex
	requests []router.Request
	leads    []int64
	actors   []bool // whether each call's context carried an actor
	decision router.Decision
	err      error
}

func (f *fakeRouter) Route(ctx context.Context, req router.Request) (router.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	_, acting := directory.ActorFrom(ctx)
	f.actors = append(f.actors, acting)
	return f.decision, f.err
}

func (f *fakeRouter) RouteLead(ctx context.Context, leadID int64, explain bool) (router.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if explain {
		return router.Decision{}, errors.New("fake: the API never explains a lead")
	}
	f.leads = append(f.leads, leadID)
	_, acting := directory.ActorFrom(ctx)
	f.actors = append(f.actors, acting)
	d := f.decision
	if d.Lead == nil {
		d.Lead = &directory.Lead{ID: leadID}
	}
	return d, f.err
}

// fakeDialer is a Dialer that records the calls it is asked to place.
type fakeDialer struct {
	mu     sync.Mutex
	dials  []router.Dial
	offers []router.Decision
	actors []bool // whether each call's context carried an actor
	err    error
	next   int64
}

func (f *fakeDialer) ClickToCall(ctx context.Context, d router.Dial) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dials = append(f.dials, d)
	return f.place(ctx)
}

func (f *fakeDialer) OfferLead(ctx context.Context, d router.Decision) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offers = append(f.offers, d)
	return f.place(ctx)
}

// place notes whether ctx carries an actor and answers the next call
// record id, or err. f.mu is held.
func (f *fakeDialer) place(ctx context.Context) (int64, error) {
	_, acting := directory.ActorFrom(ctx)
	f.actors = append(f.actors, acting)
	if f.err != nil {
		return 0, f.err
	}
	f.next++
	return f.next, nil
}

// explanation is the JSON of GET /api/v1/route/explain as a client reads it.
type explanation struct {
	Action              string   `json:"action"`
	Mode                string   `json:"mode"`
	Agents              []string `json:"agents"`
	Username            string   `json:"username"`
	ClaimTimeoutSeconds int64    `json:"claim_timeout_seconds"`
	ForwardTo           string   `json:"forward_to"`
	Number              *struct{ Number, Kind, Role string }
	Lead                *struct {
		ID   int64
		Name string
	}
	LeadCreated bool     `json:"lead_created"`
	Rule        *string  `json:"rule"`
	Inbox       bool     `json:"inbox"`
	Trace       []string `json:"trace"`
	Text        string   `json:"text"`
}

func TestExplainRoute(t *testing.T) {
	fr := &fakeRouter{decision: router.Decision{
		Action: router.RingUser, Mode: router.ModeClaim, Username: "alice", Agents: []string{"alice", "bob"},
		ClaimTimeout: 20 * time.Second,
		Number:       directory.Number{E164: "+15125550100", Kind: directory.KindRole, Role: "buyer"},
		Role:         "buyer",
		Lead:         &directory.Lead{ID: 7, Name: "Jane Doe"}, LeadCreated: true,
		Rule:  &directory.Rule{Name: "Austin buyers"},
		Trace: []string{"+15125550100 is a buyer role number", `rule "Austin buyers" matches`},
	}}
	e := newEnvWith(t, "sqlite", func(st *store.Store, _ *directory.Service) []api.Option {
		return []api.Option{api.WithRouter(fr, st)}
	})
	alice := e.addUser("alice", directory.RoleAgent)
	mia := e.addUser("mia", directory.RoleManager)

	var x explanation
	e.do(t, "GET", "/api/v1/route/explain?from=(737)%20555-0001&to=512-555-0100&at=2026-11-22T20:30:00-05:00&kind=text", mia, nil).
		want(t, http.StatusOK, &x)
	if x.Action != "ring_user" || x.Mode != "claim" || x.Username != "alice" || strings.Join(x.Agents, ",") != "alice,bob" ||
		x.ClaimTimeoutSeconds != 20 ||
		x.Number == nil || x.Number.Number != "+15125550100" || x.Number.Kind != "role" || x.Number.Role != "buyer" ||
		x.Lead == nil || x.Lead.ID != 7 || x.Lead.Name != "Jane Doe" || !x.LeadCreated ||
		x.Rule == nil || *x.Rule != "Austin buyers" || x.Inbox || len(x.Trace) != 2 {
		t.Fatalf("explanation %+v", x)
	}
	if !strings.Contains(x.Text, "=> claim: alice, bob (voicemail: alice)") || !strings.HasPrefix(x.Text, " 1. +15125550100") {
		t.Fatalf("text %q", x.Text)
	}
	req := fr.requests[0]
	want := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	if !req.Explain || req.Kind != router.KindText || req.From != "+17375550001" || req.To != "+15125550100" || !req.At.Equal(want) {
		t.Fatalf("router asked %+v", req)
	}
	if fr.actors[0] {
		t.Fatal("the router was asked as the user, not as the gateway")
	}

	// Defaults: a call, now (zero: the router's clock); a caller that is
	// not a phone number goes as it came.
	e.do(t, "GET", "/api/v1/route/explain?from=anonymous&to=%2B15125550100", mia, nil).want(t, http.StatusOK, nil)
	if req := fr.requests[1]; req.Kind != router.KindCall || !req.At.IsZero() || req.From != "anonymous" {
		t.Fatalf("router asked %+v", req)
	}

	// The same as text.
	hreq := e.request(t, "GET", "/api/v1/route/explain?to=%2B15125550100", mia, nil)
	hreq.Header.Set("Accept", "text/plain")
	r := e.send(t, hreq).want(t, http.StatusOK, nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || string(r.body) != fr.decision.Explain() {
		t.Fatalf("text answer %q: %q", ct, r.body)
	}
	hreq.Header.Set("Accept", "application/json, text/plain;q=0.5")
	if r := e.send(t, hreq).want(t, http.StatusOK, nil); r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON preferred, got %s", r.header.Get("Content-Type"))
	}

	// Only managers; bad input is named.
	e.do(t, "GET", "/api/v1/route/explain?to=%2B15125550100", alice, nil).wantProblem(t, http.StatusForbidden)
	e.do(t, "GET", "/api/v1/route/explain?to=%2B15125550100&at=tomorrow", mia, nil).wantProblem(t, http.StatusBadRequest, "at")
	e.do(t, "GET", "/api/v1/route/explain?from=%2B15125550100", mia, nil).wantProblem(t, http.StatusBadRequest, "to")
	e.do(t, "GET", "/api/v1/route/explain?to=12", mia, nil).wantProblem(t, http.StatusBadRequest, "to")
	e.do(t, "GET", "/api/v1/route/explain?to=%2B15125550100&kind=fax", mia, nil).wantProblem(t, http.StatusBadRequest, "kind")
	if len(fr.requests) != 4 {
		t.Fatalf("the router was asked %d times, want 4 (bad requests never reach it)", len(fr.requests))
	}

	// A router that fails is a 500 that names no internals.
	fr.err = errors.New("router: database on fire")
	p := e.do(t, "GET", "/api/v1/route/explain?to=%2B15125550100", mia, nil).wantProblem(t, http.StatusInternalServerError)
	if strings.Contains(p.Detail, "fire") {
		t.Fatalf("internal error shown: %q", p.Detail)
	}
}

// Without WithRouter the routing endpoints say so.
func TestRoutingNotEnabled(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, path := range []string{"/api/v1/route/explain?to=%2B15125550100", "/api/v1/inbox"} {
		if p := e.do(t, "GET", path, e.boss, nil).wantProblem(t, http.StatusNotFound); !strings.HasSuffix(p.Type, "/not-enabled") {
			t.Fatalf("%s: %+v", path, p)
		}
	}
	if p := e.do(t, "POST", "/api/v1/inbox/1/done", e.boss, nil).wantProblem(t, http.StatusNotFound); !strings.HasSuffix(p.Type, "/not-enabled") {
		t.Fatalf("inbox done: %+v", p)
	}
}

// The real router over a real store, end to end: the answer a manager
// reads for a personal number, and for a stranger calling the buyer line.
func TestExplainRouteRealRouter(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			e := newEnvWith(t, driver, func(st *store.Store, svc *directory.Service) []api.Option {
				return []api.Option{api.WithRouter(router.New(svc, st), st)}
			})
			ctx := context.Background()
			e.addUser("alice", directory.RoleAgent)
			for _, n := range []directory.Number{
				{E164: "+15125550100", Kind: directory.KindRole, Role: "buyer"},
				{E164: "+15125550110", Kind: directory.KindPersonal, Owner: "alice"},
				{E164: "+15125550199", Kind: directory.KindCatchAll},
			} {
				if _, err := e.svc.CreateNumber(ctx, n); err != nil {
					t.Fatal(err)
				}
			}
			var x explanation
			e.do(t, "GET", "/api/v1/route/explain?from=%2B17375550001&to=%2B15125550110", e.boss, nil).want(t, http.StatusOK, &x)
			if x.Action != "ring_user" || x.Mode != "direct" || x.Username != "alice" || x.Number == nil || x.Number.Kind != "personal" {
				t.Fatalf("personal number: %+v", x)
			}
			e.do(t, "GET", "/api/v1/route/explain?from=%2B17375550001&to=%2B15125550100", e.boss, nil).want(t, http.StatusOK, &x)
			if x.Action != "forward" || x.ForwardTo != "+15125550199" || !x.Inbox || x.Lead != nil || x.Rule != nil {
				t.Fatalf("stranger on the buyer line: %+v", x)
			}
			// Explaining changed nothing: the inbox is empty.
			var inbox inboxPage
			e.do(t, "GET", "/api/v1/inbox", e.boss, nil).want(t, http.StatusOK, &inbox)
			if len(inbox.Items) != 0 || inbox.OpenCount != 0 {
				t.Fatalf("explain wrote to the inbox: %+v", inbox)
			}
		})
	}
}

// inboxPage is the JSON of GET /api/v1/inbox.
type inboxPage struct {
	Items     []router.InboxEntry `json:"items"`
	Next      string              `json:"next"`
	OpenCount int64               `json:"open_count"`
}

func TestInbox(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
			e := newEnvWith(t, driver, func(st *store.Store, svc *directory.Service) []api.Option {
				return []api.Option{api.WithRouter(&fakeRouter{}, st), api.WithClock(func() time.Time { return now })}
			})
			alice := e.addUser("alice", directory.RoleAgent)
			ctx := context.Background()
			for i := range 5 {
				entry := &router.InboxEntry{At: now.Add(time.Duration(i) * time.Minute), Kind: router.KindCall,
					From: fmt.Sprintf("+1737555000%d", i), To: "+15125550100", CallID: fmt.Sprintf("call-%d", i),
					Reason: "no rule matches", ForwardTo: "+15125550199"}
				err := e.st.RouteTx(ctx, func(tx router.Tx) error { return tx.AddInbox(ctx, entry) })
				if err != nil {
					t.Fatal(err)
				}
			}
			// Newest first, in pages, each with the open count.
			var all []router.InboxEntry
			path := "/api/v1/inbox?limit=2"
			for range 5 {
				var p inboxPage
				r := e.do(t, "GET", path, e.boss, nil).want(t, http.StatusOK, &p)
				if p.OpenCount != 5 {
					t.Fatalf("open_count %d", p.OpenCount)
				}
				all = append(all, p.Items...)
				if p.Next == "" {
					if r.header.Get("Link") != "" {
						t.Fatal("Link on the last page")
					}
					break
				}
				link := r.header.Get("Link")
				if !strings.Contains(link, "before="+p.Next) {
					t.Fatalf("Link %q, next %q", link, p.Next)
				}
				path = link[1:strings.Index(link, ">")]
			}
			if len(all) != 5 || all[0].From != "+17375550004" || all[4].From != "+17375550000" {
				t.Fatalf("inbox %+v", all)
			}
			if all[0].CallID != "call-4" || all[0].ForwardTo != "+15125550199" || all[0].Reason != "no rule matches" || all[0].Done {
				t.Fatalf("entry %+v", all[0])
			}

			// Done by the manager who called back; gone from the open list.
			e.do(t, "POST", fmt.Sprintf("/api/v1/inbox/%d/done", all[1].ID), e.boss, nil).want(t, http.StatusNoContent, nil)
			var p inboxPage
			e.do(t, "GET", "/api/v1/inbox?open=true", e.boss, nil).want(t, http.StatusOK, &p)
			if p.OpenCount != 4 || len(p.Items) != 4 {
				t.Fatalf("open inbox %+v", p)
			}
			for _, it := range p.Items {
				if it.ID == all[1].ID {
					t.Fatalf("done entry listed as open: %+v", it)
				}
			}
			e.do(t, "GET", "/api/v1/inbox", e.boss, nil).want(t, http.StatusOK, &p)
			if done := p.Items[1]; !done.Done || done.DoneBy != "boss" || !done.DoneAt.Equal(now) {
				t.Fatalf("done entry %+v", done)
			}
			// A second manager calling back too: still done by the first.
			mia := e.addUser("mia", directory.RoleManager)
			e.do(t, "POST", fmt.Sprintf("/api/v1/inbox/%d/done", all[1].ID), mia, nil).want(t, http.StatusNoContent, nil)
			e.do(t, "GET", "/api/v1/inbox", mia, nil).want(t, http.StatusOK, &p)
			if done := p.Items[1]; done.DoneBy != "boss" || p.OpenCount != 4 {
				t.Fatalf("done twice: %+v, open %d", done, p.OpenCount)
			}

			// Managers only; unknown entries and bad parameters are named.
			e.do(t, "GET", "/api/v1/inbox", alice, nil).wantProblem(t, http.StatusForbidden)
			e.do(t, "POST", fmt.Sprintf("/api/v1/inbox/%d/done", all[0].ID), alice, nil).wantProblem(t, http.StatusForbidden)
			e.do(t, "POST", "/api/v1/inbox/99999/done", e.boss, nil).wantProblem(t, http.StatusNotFound)
			e.do(t, "GET", "/api/v1/inbox?open=maybe", e.boss, nil).wantProblem(t, http.StatusBadRequest, "open")
			e.do(t, "GET", "/api/v1/inbox?before=!!", e.boss, nil).wantProblem(t, http.StatusBadRequest, "before")
			e.do(t, "GET", "/api/v1/inbox?limit=0", e.boss, nil).wantProblem(t, http.StatusBadRequest, "limit")
		})
	}
}

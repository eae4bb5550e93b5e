package router_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// team is the account of the routing tests. Its time zone is New York;
// the actionable window is the shipped 08:00-21:00.
const team = `
settings:
  time_zone: America/New_York
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice, role: agent}
  - {username: bob, name: Bob, role: agent}
  - {username: carol, name: Carol, role: agent}
  - {username: lena, name: Lena, role: agent}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550101", kind: role, role: seller}
  - {number: "+15125550102", kind: role, role: lender}
  - {number: "+15125550110", kind: personal, owner: alice}
leads:
  - {phones: ["+17375550001"], name: Known Buyer, agents: {buyer: bob}}
  - {phones: ["+17375550002"], name: No Agent, source: Zillow}
`

// newRouter applies file to st and returns a router whose clock is at.
func newRouter(t testing.TB, st *store.Store, file string, at time.Time) (*router.Router, *directory.Service) {
	t.Helper()
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(st, phones)
	f, err := directory.ParseFile(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(context.Background(), f, false); err != nil {
		t.Fatal(err)
	}
	return router.New(svc, st, router.WithClock(func() time.Time { return at })), svc
}

func nyTime(t testing.TB, s string) time.Time {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestRoute(t *testing.T) {
	const rules = `
rules:
  - {name: paused, active: false, criteria: {source: [inbound call]}, agents: [{user: carol}]}
  - {name: zillow, active: true, criteria: {source: [Zillow]}, distribution: auto_assign, agents: [{user: carol}]}
  - {name: sellers claim, active: true, criteria: {lead_type: [seller]}, distribution: claim, claim_timeout: 20,
     agents: [{user: alice}, {user: bob}]}
  - {name: weekend nights, active: true, criteria: {source: [inbound call]}, windows: [{days: [sat, sun], start: "22:00", end: "06:00"}],
     agents: [{user: bob}]}
  - {name: buyers instant, active: true, criteria: {lead_type: [buyer]}, distribution: instant_call,
     agents: [{user: alice}, {user: bob}], lenders: [{user: lena}]}
`
	tests := []struct {
		name     string
		from, to string
		at       string // New York wall clock
		file     string
		action   router.Action
		mode     router.Mode
		agents   string // comma-separated
		user     string // the target (voicemail)
		rule     string
		created  bool
		inbox    bool
		trace    string
		check    func(t *testing.T, svc *directory.Service)
	}{
		{name: "personal number rings its owner", from: "+17375550001", to: "+15125550110", at: "2026-11-23 10:00",
			action: router.RingUser, mode: router.ModeDirect, agents: "alice", user: "alice", trace: "personal number of alice"},
		{name: "known lead rings its agent for the role", from: "+17375550001", to: "+15125550100", at: "2026-11-23 10:00",
			action: router.RingUser, mode: router.ModeDirect, agents: "bob", user: "bob", trace: "whose buyer agent is bob"},
		{name: "known lead without an agent runs the rules", from: "+17375550002", to: "+15125550100", at: "2026-11-23 10:00",
			action: router.RingUser, mode: router.ModeRotation, agents: "carol", user: "carol", rule: "zillow",
			trace: `rule "zillow" matches`, check: func(t *testing.T, svc *directory.Service) {
				if l, _ := svc.FindLeadByPhone(context.Background(), "+17375550002"); l.Agents["buyer"] != "carol" {
					t.Errorf("lead agents %v, want buyer carol", l.Agents)
				}
			}},
		{name: "unknown caller on the seller number: claim inside the actionable window", from: "+17375550099", to: "+15125550101",
			at: "2026-11-23 10:00", action: router.RingUser, mode: router.ModeClaim, agents: "alice,bob", user: "alice",
			rule: "sellers claim", created: true, trace: "claim: offered to alice, bob", check: func(t *testing.T, svc *directory.Service) {
				l, err := svc.FindLeadByPhone(context.Background(), "+17375550099")
				if err != nil || l.Type != directory.LeadSeller || l.Source != "inbound call" || len(l.Agents) != 0 {
					t.Errorf("lead %+v (%v): want an unassigned seller lead from an inbound call", l, err)
				}
			}},
		{name: "claim outside the actionable window falls back to auto-assign", from: "+17375550098", to: "+15125550101",
			at: "2026-11-23 22:30", action: router.RingUser, mode: router.ModeRotation, agents: "alice,bob", user: "alice",
			rule: "sellers claim", created: true, trace: "outside the actionable window", check: func(t *testing.T, svc *directory.Service) {
				if l, _ := svc.FindLeadByPhone(context.Background(), "+17375550098"); l.Agents["seller"] != "alice" {
					t.Errorf("lead agents %v, want seller alice", l.Agents)
				}
			}},
		{name: "a window across midnight takes a Saturday night caller", from: "+17375550097", to: "+15125550100",
			at: "2026-11-29 01:30", action: router.RingUser, mode: router.ModeRotation, agents: "bob", user: "bob",
			rule: "weekend nights", created: true, trace: `rule "paused": inactive`},
		{name: "outside the window the next rule applies; instant call with a lender", from: "+17375550096", to: "+15125550100",
			at: "2026-11-27 12:00", action: router.RingUser, mode: router.ModeInstant, agents: "alice,bob", user: "alice",
			rule: "buyers instant", created: true, trace: "outside its windows", check: func(t *testing.T, svc *directory.Service) {
				l, _ := svc.FindLeadByPhone(context.Background(), "+17375550096")
				if l.Agents["lender"] != "lena" || l.Agents["buyer"] != "" {
					t.Errorf("lead agents %v, want lender lena and no buyer agent before a claim", l.Agents)
				}
			}},
		{name: "no rule matches: catch-all inbox, no lead", from: "+17375550095", to: "+15125550102", at: "2026-11-23 10:00",
			action: router.Reject, inbox: true, trace: "no rule matches: no lead is created"},
		{name: "anonymous caller", from: "anonymous", to: "+15125550100", at: "2026-11-23 10:00",
			action: router.Reject, inbox: true, trace: "not a phone number"},
		{name: "not our number", from: "+17375550001", to: "+15125559999", at: "2026-11-23 10:00",
			action: router.Reject, trace: "not a number of this account"},
		{name: "unknown routing off: catch-all number", from: "+17375550094", to: "+15125550100", at: "2026-11-23 10:00",
			file:   "  unknown_lead_routing: false\nnumbers:\n  - {number: \"+15125550199\", kind: catch_all}\n",
			action: router.Forward, inbox: true, trace: "forwarded to the catch-all number +15125550199"},
	}
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				file := team + rules
				if tt.file != "" {
					file = strings.Replace(team, "settings:\n", "settings:\n"+strings.SplitN(tt.file, "numbers:\n", 2)[0], 1) + rules
					if _, extra, ok := strings.Cut(tt.file, "numbers:\n"); ok {
						file = strings.Replace(file, "numbers:\n", "numbers:\n"+extra, 1)
					}
				}
				fresh := storetest.Open(t, driverOf(st))
				r, svc := newRouter(t, fresh, file, time.Time{})
				req := router.Request{From: tt.from, To: tt.to, At: nyTime(t, tt.at), CallID: "call-1"}
				ex := req
				ex.Explain = true
				want, err := r.Route(context.Background(), ex)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.Route(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("explain:\n%s", want.Explain())
				for _, d := range []router.Decision{want, got} {
					if d.Action != tt.action || d.Mode != tt.mode || strings.Join(d.Agents, ",") != tt.agents || d.Username != tt.user {
						t.Errorf("decision %s %s %v (target %q), want %s %s %s (%q)\n%s", d.Action, d.Mode, d.Agents, d.Username,
							tt.action, tt.mode, tt.agents, tt.user, d.Explain())
					}
					if name := ruleName(d); name != tt.rule {
						t.Errorf("rule %q, want %q", name, tt.rule)
					}
					if d.LeadCreated != tt.created || (d.Inbox != nil) != tt.inbox {
						t.Errorf("lead created %v inbox %v", d.LeadCreated, d.Inbox != nil)
					}
					if !strings.Contains(d.Short(), tt.trace) {
						t.Errorf("trace %q lacks %q", d.Short(), tt.trace)
					}
				}
				if tt.action == router.Reject && !errors.Is(got.Err, router.ErrNoRoute) {
					t.Errorf("reject without ErrNoRoute: %v", got.Err)
				}
				if tt.created && (got.Lead == nil || got.Lead.ID == 0) {
					t.Errorf("no lead stored: %+v", got.Lead)
				}
				// Explaining wrote nothing; the real decision one entry.
				inbox, err := fresh.ListInbox(context.Background(), router.InboxFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if n := map[bool]int{true: 1}[tt.inbox]; len(inbox) != n || n == 1 && (inbox[0].From != tt.from || inbox[0].CallID != "call-1") {
					t.Errorf("inbox %+v, want %d entry from %s", inbox, n, tt.from)
				}
				if tt.check != nil {
					tt.check(t, svc)
				}
			})
		}
	})
}

func ruleName(d router.Decision) string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.Name
}

func driverOf(st *store.Store) string { return st.Driver() }

// TestRotationExact: 1,000 unknown callers through a rule with leads per
// round 3/2/1 are split exactly: 166 full rounds of 6 and the first four
// slots of the next (a b a c).
func TestRotationExact(t *testing.T) {
	const rule = `
rules:
  - {name: split, active: true, criteria: {source: [inbound call]}, agents: [{user: alice, leads_per_round: 3},
     {user: bob, leads_per_round: 2}, {user: carol, leads_per_round: 1}]}
`
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		r, svc := newRouter(t, st, team+rule, nyTime(t, "2026-11-23 10:00"))
		for i := range 1000 {
			if _, err := r.Route(context.Background(), router.Request{From: fmt.Sprintf("+1737556%04d", i), To: "+15125550100"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := agentCounts(t, svc); got != "alice=500 bob=333 carol=167" {
			t.Errorf("leads per agent: %s", got)
		}
	})
}

// agentCounts counts the buyer leads per agent that routing created.
func agentCounts(t testing.TB, svc *directory.Service) string {
	t.Helper()
	var parts []string
	for _, u := range []string{"alice", "bob", "carol"} {
		n := 0
		after := int64(0)
		for {
			ls, err := svc.ListLeads(context.Background(), directory.LeadFilter{Agent: u, Page: directory.Page{After: after, Limit: 500}})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range ls {
				if l.Agents["buyer"] == u && l.Source == router.SourceInboundCall {
					n++
				}
			}
			if len(ls) < 500 {
				break
			}
			after = ls[len(ls)-1].ID
		}
		parts = append(parts, fmt.Sprintf("%s=%d", u, n))
	}
	return strings.Join(parts, " ")
}

package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// routedLead is the answer of POST /api/v1/leads.
type routedLead struct {
	directory.Lead
	Routing *struct {
		Action       string   `json:"action"`
		Mode         string   `json:"mode"`
		Rule         *string  `json:"rule"`
		Agent        string   `json:"agent"`
		Agents       []string `json:"agents"`
		Trace        []string `json:"trace"`
		CallRecordID int64    `json:"call_record_id"`
		Note         string   `json:"note"`
		Error        string   `json:"error"`
	} `json:"routing"`
}

func TestLeadCreationRoutes(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			fr := &fakeRouter{}
			fd := &fakeDialer{next: 40}
			e := newEnvWith(t, driver, func(st *store.Store, _ *directory.Service) []api.Option {
				return []api.Option{api.WithRouter(fr, st), api.WithDialer(fd)}
			})
			alice := e.addUser("alice", directory.RoleAgent)
			rule := &directory.Rule{Name: "Austin buyers"}
			lead := func(token, query string, i int) *resp {
				return e.do(t, "POST", "/api/v1/leads"+query, token, map[string]any{
					"phones": []string{fmt.Sprintf("+1737555%04d", i)}, "name": fmt.Sprintf("Lead %d", i), "city": "Austin"})
			}

			// Claim: routed, then offered to the agents by a call.
			fr.decision = router.Decision{Action: router.RingUser, Mode: router.ModeClaim, Username: "alice",
				Agents: []string{"alice", "bob"}, Rule: rule, Role: "buyer", Trace: []string{"rule matches", "claim: offered"}}
			var got routedLead
			r := lead(e.boss, "", 1).want(t, http.StatusCreated, &got)
			if got.ID == 0 || got.Name != "Lead 1" || got.Routing == nil {
				t.Fatalf("answer %s", r.body)
			}
			rt := got.Routing
			if rt.Action != "ring_user" || rt.Mode != "claim" || rt.Rule == nil || *rt.Rule != "Austin buyers" || rt.Agent != "" ||
				strings.Join(rt.Agents, ",") != "alice,bob" || len(rt.Trace) != 2 || rt.CallRecordID != 41 || rt.Error != "" {
				t.Fatalf("routing %s", r.body)
			}
			if len(fr.leads) != 1 || fr.leads[0] != got.ID || len(fd.offers) != 1 || fd.offers[0].Lead.ID != got.ID {
				t.Fatalf("routed %v, offered %+v", fr.leads, fd.offers)
			}
			if fr.actors[0] || fd.actors[0] {
				t.Fatal("the lead was routed or offered as the user, not as the gateway")
			}
			if r.header.Get("Location") != fmt.Sprintf("/api/v1/leads/%d", got.ID) || r.header.Get("ETag") == "" {
				t.Fatalf("headers %v", r.header)
			}

			// Auto-assign: no call; the agent is named.
			fr.decision = router.Decision{Action: router.RingUser, Mode: router.ModeRotation, Username: "alice",
				Agents: []string{"alice"}, Rule: rule, Trace: []string{"lead assigned to alice"}}
			got = routedLead{}
			lead(alice, "", 2).want(t, http.StatusCreated, &got)
			if rt := got.Routing; rt.Mode != "auto_assign" || rt.Agent != "alice" || rt.CallRecordID != 0 || len(fd.offers) != 1 {
				t.Fatalf("auto-assign routing %+v, offers %d", rt, len(fd.offers))
			}

			// No rule: a reject, said as such.
			fr.decision = router.Decision{Action: router.Reject, Trace: []string{"no rule matches: the lead stays unassigned"}}
			got = routedLead{}
			r = lead(e.boss, "", 3).want(t, http.StatusCreated, &got)
			if rt := got.Routing; rt.Action != "reject" || rt.Rule != nil || !strings.Contains(string(r.body), `"rule":null`) {
				t.Fatalf("reject routing %s", r.body)
			}

			// ?route=false stores the lead only; a bad value creates nothing.
			got = routedLead{}
			r = lead(e.boss, "?route=false", 4).want(t, http.StatusCreated, &got)
			if got.Routing != nil || len(fr.leads) != 3 {
				t.Fatalf("route=false: %s (router asked %d times)", r.body, len(fr.leads))
			}
			lead(e.boss, "?route=perhaps", 5).wantProblem(t, http.StatusBadRequest, "route")
			if _, err := e.svc.FindLeadByPhone(context.Background(), "+17375550005"); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("a refused request created the lead: %v", err)
			}

			// A router that fails loses no lead: 201, the lead is there, the
			// error says what failed and names no internals.
			fr.err = errors.New("router: rotation table locked by gremlins")
			got = routedLead{}
			r = lead(e.boss, "", 6).want(t, http.StatusCreated, &got)
			if got.Routing == nil || !strings.HasPrefix(got.Routing.Error, "routing the lead failed: internal error; quote request id ") ||
				strings.Contains(got.Routing.Error, "gremlins") {
				t.Fatalf("failed routing %s", r.body)
			}
			if l, err := e.svc.GetLead(context.Background(), got.ID); err != nil || l.Name != "Lead 6" {
				t.Fatalf("lead after failed routing: %+v, %v", l, err)
			}
			if !strings.Contains(e.logs.String(), "gremlins") {
				t.Fatal("the routing failure is not logged")
			}
			fr.err = nil

			// The dialer failing to call the agents: the lead stays, the error says so.
			fr.decision = router.Decision{Action: router.RingUser, Mode: router.ModeInstant, Username: "alice",
				Agents: []string{"alice", "bob"}, Rule: rule}
			fd.err = router.ErrUnavailable
			got = routedLead{}
			lead(e.boss, "", 7).want(t, http.StatusCreated, &got)
			if got.Routing.Error != "calling the agents failed: agent has no registered phone" || got.Routing.Mode != "instant_call" {
				t.Fatalf("failed offer %+v", got.Routing)
			}
		})
	}
}

// Without a dialer, claim and instant call are routed but nobody is
// called, and the answer says so.
func TestLeadCreationWithoutDialer(t *testing.T) {
	fr := &fakeRouter{decision: router.Decision{Action: router.RingUser, Mode: router.ModeClaim, Username: "alice",
		Agents: []string{"alice"}, Rule: &directory.Rule{Name: "r"}}}
	e := newEnvWith(t, "sqlite", func(st *store.Store, _ *directory.Service) []api.Option {
		return []api.Option{api.WithRouter(fr, st)}
	})
	var got routedLead
	e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{"phones": []string{"+17375550001"}}).want(t, http.StatusCreated, &got)
	if got.Routing == nil || got.Routing.Note == "" || got.Routing.Error != "" || got.Routing.CallRecordID != 0 {
		t.Fatalf("routing %+v", got.Routing)
	}
	// A server without a router answers as before: no routing object.
	e2 := newEnv(t, "sqlite")
	r := e2.do(t, "POST", "/api/v1/leads", e2.boss, map[string]any{"phones": []string{"+17375550001"}}).want(t, http.StatusCreated, nil)
	if contains(r.body, "routing") {
		t.Fatalf("routing without a router: %s", r.body)
	}
}

// The real router over a real store: a lead added by the API goes to the
// catch-all rule's agent, and the answer shows the assignment.
func TestLeadCreationRealRouter(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			e := newEnvWith(t, driver, func(st *store.Store, svc *directory.Service) []api.Option {
				return []api.Option{api.WithRouter(router.New(svc, st), st)}
			})
			ctx := context.Background()
			alice := e.addUser("alice", directory.RoleAgent)
			e.addUser("bob", directory.RoleAgent)
			if _, err := e.svc.CreateNumber(ctx, directory.Number{E164: "+15125550100", Kind: directory.KindRole, Role: "buyer"}); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.CreateRule(ctx, directory.Rule{Name: "Everyone", CatchAll: true, Active: true,
				Distribution: directory.DistAutoAssign, Agents: []directory.RuleAgent{{User: "bob", LeadsPerRound: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			var got routedLead
			r := e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{"phones": []string{"+17375550001"}, "type": "buyer"}).
				want(t, http.StatusCreated, &got)
			if got.Routing == nil || got.Routing.Mode != "auto_assign" || got.Routing.Agent != "bob" || got.Routing.Rule == nil ||
				*got.Routing.Rule != "Everyone" || got.Agents["buyer"] != "bob" || got.Routing.Error != "" {
				t.Fatalf("answer %s", r.body)
			}
			// An agent's unassigned lead goes to bob as well; alice no
			// longer sees it, and is told how it went all the same.
			got = routedLead{}
			r = e.do(t, "POST", "/api/v1/leads", alice, map[string]any{"phones": []string{"+17375550002"}, "type": "buyer"}).
				want(t, http.StatusCreated, &got)
			if got.Routing == nil || got.Routing.Agent != "bob" || got.Routing.Error != "" {
				t.Fatalf("agent's lead: %s", r.body)
			}
			if l, err := e.svc.FindLeadByPhone(ctx, "+17375550002"); err != nil || l.Agents["buyer"] != "bob" {
				t.Fatalf("stored %+v, %v", l, err)
			}
		})
	}
}

package router_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

const team = `
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice, role: agent}
  - {username: bob, name: Bob, role: agent}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550101", kind: role, role: seller}
  - {number: "+15125550110", kind: personal, owner: alice}
leads:
  - {phones: ["+17375550001"], name: Known Buyer, agents: {buyer: bob}}
  - {phones: ["+17375550002"], name: No Agent}
`

// newDirectory applies file to a fresh SQLite directory.
func newDirectory(t *testing.T, file string) *directory.Service {
	t.Helper()
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(storetest.Open(t, store.DriverSQLite), phones)
	f, err := directory.ParseFile(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(context.Background(), f, false); err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestRouteCall(t *testing.T) {
	tests := []struct {
		name      string
		from, to  string
		catchAll  bool
		action    router.Action
		user      string
		forwardTo string
		lead      bool
		trace     string
	}{
		{name: "personal number rings its owner whoever calls", from: "+17375550001", to: "+15125550110",
			action: router.RingUser, user: "alice", lead: false, trace: "personal number of alice"},
		{name: "role number rings the lead's agent for that role", from: "+17375550001", to: "+15125550100",
			action: router.RingUser, user: "bob", lead: true, trace: "buyer agent is bob"},
		{name: "lead without an agent in the dialled role is unknown", from: "+17375550001", to: "+15125550101",
			action: router.Reject, lead: true, trace: "has no seller agent"},
		{name: "lead without any agent", from: "+17375550002", to: "+15125550100",
			action: router.Reject, lead: true, trace: "no catch-all number"},
		{name: "unknown caller without catch-all", from: "+17375559999", to: "+15125550100",
			action: router.Reject, trace: "not a known lead"},
		{name: "anonymous caller", from: "", to: "+15125550100",
			action: router.Reject, trace: "caller - is not a known lead"},
		{name: "unknown caller with catch-all", from: "+17375559999", to: "+15125550100", catchAll: true,
			action: router.Forward, forwardTo: "+15125550199", trace: "forwarded to the catch-all number +15125550199"},
		{name: "number not ours", from: "+17375550001", to: "+15125550777",
			action: router.Reject, trace: "not a number of this account"},
		{name: "garbage dialled", from: "+17375550001", to: "abc",
			action: router.Reject, trace: "abc is not a number"},
		{name: "the catch-all number itself is not routed", from: "+17375550001", to: "+15125550199", catchAll: true,
			action: router.Reject, trace: "is the catch-all number"},
	}
	plain := newDirectory(t, team)
	withCA := newDirectory(t, team)
	if _, err := withCA.CreateNumber(context.Background(), directory.Number{E164: "+15125550199", Kind: directory.KindCatchAll}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := router.NewBasic(plain)
			if tt.catchAll {
				r = router.NewBasic(withCA)
			}
			d, err := r.RouteCall(context.Background(), router.Call{From: tt.from, To: tt.to})
			if err != nil {
				t.Fatalf("RouteCall: %v", err)
			}
			if d.Action != tt.action || d.Username != tt.user || d.ForwardTo != tt.forwardTo {
				t.Fatalf("decision = %v user %q forward %q, want %v %q %q (trace %q)",
					d.Action, d.Username, d.ForwardTo, tt.action, tt.user, tt.forwardTo, d.Short())
			}
			if (d.Lead != nil) != tt.lead {
				t.Errorf("lead found = %v, want %v", d.Lead != nil, tt.lead)
			}
			if !strings.Contains(d.Short(), tt.trace) {
				t.Errorf("trace %q does not say %q", d.Short(), tt.trace)
			}
			if (d.Action == router.Reject) != errors.Is(d.Err, router.ErrNoRoute) {
				t.Errorf("Err = %v for action %v", d.Err, d.Action)
			}
		})
	}
}

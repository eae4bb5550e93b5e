package sip_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/sipptest"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
)

// The routing tests run the lead-routing rules end to end: a carrier
// (SIPp) calls a role number, agents' phones (SIPp, one process each)
// register and answer, ignore the whisper or press 1 with an RFC 4733
// event.

// routingTeam is the team of the routing tests; rules are added per test.
const routingTeam = `
settings:
  ring_timeout_seconds: 5
  voicemail: false
  unknown_lead_routing: %s
  actionable_start: "00:00"
  actionable_end: "24:00"
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice Smith, role: agent, sip_password: alice-pw-1}
  - {username: bob, name: Bob Jones, role: agent, sip_password: bob-pw-22}
  - {username: carol, name: Carol King, role: agent, sip_password: carol-pw-3}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550101", kind: role, role: seller}
  - {number: "+15125550199", kind: catch_all}
leads:
  - {phones: ["+17375550001"], name: Known Lead, agents: {buyer: bob, seller: carol}}
`

var agentPasswords = map[string]string{"alice": "alice-pw-1", "bob": "bob-pw-22", "carol": "carol-pw-3"}

func routingGateway(t *testing.T, unknownRouting bool, rules string, trunkProxy string) *gateway {
	t.Helper()
	team := strings.Replace(routingTeam, "%s", map[bool]string{true: "true", false: "false"}[unknownRouting], 1) + rules
	return startGatewayWith(t, team, func(b *sip.Backend) {
		b.Calls.AcceptTimeout = 2 * time.Second
		trunk := sip.Trunk{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource, Outbound: true}
		if trunkProxy != "" {
			trunk.Proxy = trunkProxy
		}
		b.Trunks = []sip.Trunk{trunk}
	})
}

// startAgent registers user's phone (SIPp) whose calls run scenario.
func startAgent(ctx context.Context, t *testing.T, gw *gateway, user, scenario string, args ...string) *sippRun {
	t.Helper()
	all := append([]string{"-oocsf", sipptest.Scenario(scenario),
		"-set", "user", user, "-au", user, "-ap", agentPasswords[user], "-timeout", "30s"}, args...)
	p := startSIPp(ctx, t, gw, "agent_user", "127.0.0.1", all...)
	waitRegistered(ctx, t, gw, p, user)
	return p
}

// pressOne is the SIPp argument naming the capture of the digit 1.
func pressOne(t *testing.T) []string {
	path := filepath.Join(t.TempDir(), "press1.pcap")
	sipptest.WriteRTPPcap(t, path, sipptest.EventPT, 0x1234, sipptest.DigitEvents(1))
	return []string{"-key", "dtmf_pcap", path}
}

// callFrom runs the carrier's call from from to the number to.
func callFrom(ctx context.Context, t *testing.T, gw *gateway, from, to string) *sippRun {
	t.Helper()
	return startSIPp(ctx, t, gw, "trunk_call", "127.0.0.2", "-s", to, "-set", "from", from)
}

// explain is the router's explanation of a call made now.
func explain(t *testing.T, gw *gateway, from, to string) router.Decision {
	t.Helper()
	d, err := router.New(gw.dir, gw.store).Route(context.Background(), router.Request{From: from, To: to, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("explain %s -> %s:\n%s", from, to, d.Explain())
	return d
}

func leadOf(t *testing.T, gw *gateway, phone string) directory.Lead {
	t.Helper()
	l, err := gw.dir.FindLeadByPhone(context.Background(), phone)
	if err != nil {
		t.Fatalf("lead %s: %v", phone, err)
	}
	return l
}

// A known lead reaches the agent assigned to it for the role of the number
// dialled: bob on the buyer number, carol on the seller number (R-IN-2).
func TestSIPpKnownLeadReachesItsAgentPerRole(t *testing.T) {
	gw := routingGateway(t, true, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	for _, c := range []struct{ to, agent string }{{"+15125550100", "bob"}, {"+15125550101", "carol"}} {
		ex := explain(t, gw, "+17375550001", c.to)
		if ex.Username != c.agent || ex.Mode != router.ModeDirect {
			t.Fatalf("explain for %s: %s %v", c.to, ex.Mode, ex.Agents)
		}
		agent := startAgent(ctx, t, gw, c.agent, "agent_answer.xml")
		callFrom(ctx, t, gw, "+17375550001", c.to).wait(t, gw)
		agent.wait(t, gw)
		r := closedRecord(t, gw)
		if r.Result != billing.ResultAnswered || r.Username != c.agent || r.Role != ex.Number.Role || r.LeadID != ex.Lead.ID {
			t.Errorf("call to %s: record %+v, want answered by %s", c.to, r, c.agent)
		}
		if !strings.Contains(r.Route, "whose "+ex.Number.Role+" agent is "+c.agent) {
			t.Errorf("record's route %q", r.Route)
		}
	}
}

// An unknown caller becomes a lead of the role's type with the rule's
// agent, and that agent's phone rings (R-IN-3a).
func TestSIPpUnknownCallerBecomesLead(t *testing.T) {
	gw := routingGateway(t, true, `
rules:
  - {name: inbound callers, active: true, criteria: {source: [inbound call]}, distribution: auto_assign,
     agents: [{user: carol, leads_per_round: 1}]}
`, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ex := explain(t, gw, "+17375550077", "+15125550100")
	if !ex.LeadCreated || ex.Username != "carol" || ex.Rule == nil || ex.Rule.Name != "inbound callers" {
		t.Fatalf("explain: %+v", ex)
	}
	if _, err := gw.dir.FindLeadByPhone(ctx, "+17375550077"); err == nil {
		t.Fatal("explaining created the lead")
	}
	agent := startAgent(ctx, t, gw, "carol", "agent_answer.xml")
	callFrom(ctx, t, gw, "+17375550077", "+15125550100").wait(t, gw)
	agent.wait(t, gw)
	r := closedRecord(t, gw)
	lead := leadOf(t, gw, "+17375550077")
	if r.Result != billing.ResultAnswered || r.Username != "carol" || r.LeadID != lead.ID {
		t.Errorf("record %+v, want answered by carol for lead %d", r, lead.ID)
	}
	if lead.Source != "inbound call" || lead.Type != directory.LeadBuyer || lead.Agents["buyer"] != "carol" {
		t.Errorf("lead %+v", lead)
	}
	if !strings.Contains(r.Route, `rule "inbound callers" matches`) {
		t.Errorf("record's route %q", r.Route)
	}
}

// With unknown-number lead routing off, an unknown caller is forwarded to
// the catch-all number, no lead is made, and the caller lands in the
// admin inbox (R-IN-3b).
func TestSIPpCatchAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port := sipptest.FreeUDPPort(t, "127.0.0.3")
	gw := routingGateway(t, false, "", "127.0.0.3:"+itoa(port))
	ex := explain(t, gw, "+17375550088", "+15125550100")
	if ex.Action != router.Forward || ex.ForwardTo != "+15125550199" || ex.Inbox == nil {
		t.Fatalf("explain: %+v", ex)
	}
	office := startSIPpAt(ctx, t, "127.0.0.3", port)
	callFrom(ctx, t, gw, "+17375550088", "+15125550100").wait(t, gw)
	office.wait(t, gw)
	r := closedRecord(t, gw)
	if r.Result != billing.ResultAnswered || r.LeadID != 0 {
		t.Errorf("record %+v, want answered by the catch-all, no lead", r)
	}
	if _, err := gw.dir.FindLeadByPhone(ctx, "+17375550088"); err == nil {
		t.Error("a lead was made for a catch-all caller")
	}
	inbox, err := gw.store.ListInbox(ctx, router.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].From != "+17375550088" || inbox[0].ForwardTo != "+15125550199" || inbox[0].CallID == "" {
		t.Errorf("inbox %+v", inbox)
	}
}

// Claim with timeout: the rotation offers the call to alice first, who
// answers but does not press 1; after the accept timeout bob gets the
// offer, presses 1 (an RFC 4733 event from SIPp) and gets the call and
// the lead.
func TestSIPpClaimSkipsAgentWithoutDigit(t *testing.T) {
	gw := routingGateway(t, true, `
rules:
  - {name: claimers, active: true, criteria: {lead_type: [buyer]}, distribution: claim, claim_timeout: 10,
     agents: [{user: alice}, {user: bob}]}
`, "")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ex := explain(t, gw, "+17375550066", "+15125550100")
	if ex.Mode != router.ModeClaim || !slices.Equal(ex.Agents, []string{"alice", "bob"}) {
		t.Fatalf("explain: %s %v", ex.Mode, ex.Agents)
	}
	alice := startAgent(ctx, t, gw, "alice", "agent_nopress.xml")
	bob := startAgent(ctx, t, gw, "bob", "agent_press1.xml", pressOne(t)...)
	callFrom(ctx, t, gw, "+17375550066", "+15125550100").wait(t, gw)
	alice.wait(t, gw)
	bob.wait(t, gw)
	r := closedRecord(t, gw)
	lead := leadOf(t, gw, "+17375550066")
	if r.Result != billing.ResultAnswered || r.Username != "bob" || r.LeadID != lead.ID {
		t.Errorf("record %+v, want answered by bob", r)
	}
	if lead.Agents["buyer"] != "bob" {
		t.Errorf("lead's buyer agent %q, want bob (who claimed it)", lead.Agents["buyer"])
	}
	if !strings.Contains(gw.logs.String(), "no digit 1 within the accept timeout") {
		t.Error("alice's missing digit not logged")
	}
}

// Instant call: all agents ring at once; bob presses 1 first and gets the
// call and the lead; alice, who answered but did not press, is hung up,
// and carol's ringing phone is cancelled.
func TestSIPpInstantCallFirstToPressWins(t *testing.T) {
	gw := routingGateway(t, true, `
rules:
  - {name: everyone, active: true, criteria: {source: [inbound call]}, distribution: instant_call,
     agents: [{user: alice}, {user: bob}, {user: carol}]}
`, "")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ex := explain(t, gw, "+17375550055", "+15125550100")
	if ex.Mode != router.ModeInstant || len(ex.Agents) != 3 {
		t.Fatalf("explain: %s %v", ex.Mode, ex.Agents)
	}
	alice := startAgent(ctx, t, gw, "alice", "agent_nopress.xml")
	bob := startAgent(ctx, t, gw, "bob", "agent_press1.xml", pressOne(t)...)
	carol := startAgent(ctx, t, gw, "carol", "agent_cancelled.xml")
	callFrom(ctx, t, gw, "+17375550055", "+15125550100").wait(t, gw)
	for _, p := range []*sippRun{alice, bob, carol} {
		p.wait(t, gw)
	}
	r := closedRecord(t, gw)
	lead := leadOf(t, gw, "+17375550055")
	if r.Result != billing.ResultAnswered || r.Username != "bob" || r.LeadID != lead.ID {
		t.Errorf("record %+v, want answered by bob", r)
	}
	if lead.Agents["buyer"] != "bob" {
		t.Errorf("lead's buyer agent %q, want bob (first to press 1)", lead.Agents["buyer"])
	}
}

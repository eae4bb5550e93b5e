package sip_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/sipptest"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
)

// Calls the gateway places itself: click-to-call (the agent's phone
// rings first, then the number through the trunk) and new leads offered
// to the agents of an instant-call rule. Every phone is a softphone on
// loopback; the number called is one at 127.0.0.3, behind the trunk.

const dialerTeam = `
settings:
  ring_timeout_seconds: 5
  voicemail: false
  agents_dialer: true
  caller_name: Acme Realty
  actionable_start: "00:00"
  actionable_end: "24:00"
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice Smith, role: agent, sip_password: alice-pw-1, dialer_access: true}
  - {username: bob, name: Bob Jones, role: agent, sip_password: bob-pw-22, dialer_access: true}
  - {username: carol, name: Carol King, role: agent, sip_password: carol-pw-3, dialer_access: true}
  - {username: dave, name: Dave Poe, role: agent, sip_password: dave-pw-44}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550101", kind: role, role: seller}
  - {number: "+15125550111", kind: personal, owner: bob}
leads:
  - {phones: ["+17375550001"], name: Known Lead, agents: {buyer: bob}}
`

// dialerGateway runs a gateway with dialerTeam (and rules) whose trunk
// sends calls out to the phone number, which it returns too.
func dialerGateway(t *testing.T, rules string) (*gateway, *phone) {
	t.Helper()
	// The number's phone starts after the gateway, so that it stops
	// first: the gateway's check for goroutines left behind runs last.
	addr := "127.0.0.3:" + itoa(sipptest.FreeUDPPort(t, "127.0.0.3"))
	gw := startGatewayWith(t, dialerTeam+rules, func(b *sip.Backend) {
		b.Calls.AcceptTimeout = 3 * time.Second
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: addr, Inbound: trunkSource, Outbound: true}}
	})
	return gw, newPhone(t, addr)
}

// fromOf is the From of the n-th INVITE p got.
func fromOf(t *testing.T, p *phone, n int) gosip.FromHeader {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.froms) <= n {
		t.Fatalf("phone got %d INVITEs, want more than %d", len(p.froms), n)
	}
	return p.froms[n]
}

// dialogOf is the n-th call p answered.
func dialogOf(p *phone, n int) func() bool {
	return func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.dialogs) > n
	}
}

// bridged: the newest call has been answered (its record says so).
func bridged(t *testing.T, gw *gateway) func() bool {
	return func() bool { return !lastRecord(t, gw).Answer.IsZero() }
}

// hangupAnswered hangs up the n-th call p answered.
func hangupAnswered(t *testing.T, p *phone, n int) {
	t.Helper()
	p.mu.Lock()
	d := p.dialogs[n]
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
}

// Click-to-call: alice's phone rings and answers, and only then does the
// gateway call the number, from the account's buyer number; the two hear
// each other, and the number hanging up hangs alice up.
func TestClickToCallRingsAgentThenNumber(t *testing.T) {
	gw, number := dialerGateway(t, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := gw.ClickToCall(ctx, router.Dial{User: "alice", To: "+17375550001"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the number called", func() bool { return number.invites.Load() == 1 })
	if !dialogOf(alice, 0)() {
		t.Fatal("the number was called before alice answered")
	}
	// alice's phone showed whom she is calling; the number sees the
	// account's buyer number (alice has no default number of her own).
	if f := fromOf(t, alice, 0); f.Address.User != "+17375550001" || f.DisplayName != "Known Lead" {
		t.Errorf("alice's phone showed %s", f.Value())
	}
	// ... with the account's branded caller name (R-OUT-4).
	if f := fromOf(t, number, 0); f.Address.User != "+15125550100" || f.DisplayName != "Acme Realty" {
		t.Errorf("the number saw caller ID %s, want \"Acme Realty\" +15125550100", f.Value())
	}
	eventually(t, "the number answered", dialogOf(number, 0))
	eventually(t, "the call bridged", bridged(t, gw))
	alice.rtp.send(t, 20)
	number.rtp.send(t, 20)
	eventually(t, "alice's audio at the number", func() bool { return number.rtp.received.Load() >= 10 })
	eventually(t, "the number's audio at alice", func() bool { return alice.rtp.received.Load() >= 10 })
	hangupAnswered(t, number, 0)
	eventually(t, "alice hung up", func() bool { return alice.byes.Load() == 1 })
	r := closedRecord(t, gw)
	lead := leadOf(t, gw, "+17375550001")
	if r.ID != id || r.Result != billing.ResultAnswered || r.Direction != billing.Outbound || r.Username != "alice" ||
		r.From != "+15125550100" || r.To != "+17375550001" || r.LeadID != lead.ID || r.Trunk != "carrier" ||
		r.SIPReason != "BYE from the number called" {
		t.Errorf("record %+v", r)
	}
	if !strings.Contains(r.Route, "click-to-call: alice's phones, then +17375550001") {
		t.Errorf("record's route %q", r.Route)
	}
}

// A caller ID picked for the call is used when the user may use it: bob
// calls from his personal number.
func TestClickToCallPickedCallerID(t *testing.T) {
	gw, number := dialerGateway(t, "")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := gw.ClickToCall(ctx, router.Dial{User: "bob", To: "(737) 555-0009", CallerID: "+15125550111"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the number answered", dialogOf(number, 0))
	if f := fromOf(t, number, 0); f.Address.User != "+15125550111" {
		t.Errorf("the number saw caller ID %s, want bob's +15125550111", f.Value())
	}
	// (The phone keeps the dialog before its 200 leaves.)
	eventually(t, "the call bridged", bridged(t, gw))
	hangupAnswered(t, bob, 0)
	eventually(t, "the number hung up", func() bool { return number.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.To != "+17375550009" || r.NumberKind != "personal" || r.SIPReason != "BYE from agent" {
		t.Errorf("record %+v", r)
	}
}

// Who may call where: no dialer access, an international number, a caller
// ID the user may not use, a user with no phone to ring. Nothing is
// called and no record is written.
func TestClickToCallRefused(t *testing.T) {
	gw, number := dialerGateway(t, "")
	registered(t, gw, "dave", "dave-pw-44", "127.0.0.1")
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		dial router.Dial
		want error
	}{
		{router.Dial{User: "dave", To: "+17375550001"}, router.ErrNoDialer},
		{router.Dial{User: "alice", To: "+442079460000"}, router.ErrInternational},
		{router.Dial{User: "alice", To: "+17375550001", CallerID: "+15125550111"}, router.ErrCallerID},
		{router.Dial{User: "alice", To: "+17375550001", CallerID: "+15125559999"}, router.ErrCallerID},
		{router.Dial{User: "carol", To: "+17375550001"}, router.ErrUnavailable},
		{router.Dial{User: "nobody", To: "+17375550001"}, directory.ErrNotFound},
	} {
		if _, err := gw.ClickToCall(ctx, c.dial); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.dial, err, c.want)
		}
	}
	rs, err := gw.store.ListCallRecords(ctx, billing.CallFilter{Limit: 10})
	if err != nil || len(rs) != 0 {
		t.Errorf("records %v %v, want none", rs, err)
	}
	if number.invites.Load() != 0 {
		t.Error("a refused call reached the number")
	}
}

// The agent busy: the number is never called.
func TestClickToCallAgentBusy(t *testing.T) {
	gw, number := dialerGateway(t, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("busy")
	if _, err := gw.ClickToCall(context.Background(), router.Dial{User: "alice", To: "+17375550001"}); err != nil {
		t.Fatal(err)
	}
	r := closedRecord(t, gw)
	if r.Result != billing.ResultBusy || r.SIPCode != 486 || !r.Answer.IsZero() {
		t.Errorf("record %+v", r)
	}
	if number.invites.Load() != 0 {
		t.Error("the number was called though alice was busy")
	}
}

// The agent holds, then hangs up, while the number rings. The gateway
// answers the hold itself (there is nobody to pass it to yet) instead of
// 491 over and over, and the ringing number sees nothing of it; the
// hang-up cancels the number's INVITE.
func TestClickToCallAgentHoldsAndHangsUpWhileNumberRings(t *testing.T) {
	gw, number := dialerGateway(t, "")
	number.answer.Store("ignore")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	if _, err := gw.ClickToCall(context.Background(), router.Dial{User: "alice", To: "+17375550001"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the number rings", func() bool { return number.invites.Load() == 1 })
	if ans := reinviteAnswered(t, alice, "sendonly"); ans.Direction != media.Recvonly {
		t.Errorf("answer to alice's hold: direction %v, want recvonly", ans.Direction)
	}
	number.mu.Lock()
	holds := len(number.holds)
	number.mu.Unlock()
	if holds != 0 || number.cancels.Load() != 0 {
		t.Errorf("the ringing number saw %d re-INVITEs and %d CANCELs, want none", holds, number.cancels.Load())
	}
	hangupAnswered(t, alice, 0)
	eventually(t, "CANCEL to the number", func() bool { return number.cancels.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultCancelled || r.SIPReason != "BYE from agent" || !r.Answer.IsZero() {
		t.Errorf("record %+v", r)
	}
}

// The number busy: the agent is hung up, the record says why.
func TestClickToCallNumberBusy(t *testing.T) {
	gw, number := dialerGateway(t, "")
	number.answer.Store("busy")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	if _, err := gw.ClickToCall(context.Background(), router.Dial{User: "alice", To: "+17375550001"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice hung up", func() bool { return alice.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultBusy || r.SIPCode != 486 || r.SIPReason != "number called: Busy Here" {
		t.Errorf("record %+v", r)
	}
}

// A lead made outside a call (a web form) under an instant-call rule: the
// gateway rings the rule's agents with dialer access at once (dave has
// none), with the whisper; bob presses 1 (RFC 4733) and gets the lead and
// a call to it from the buyer role number; alice, who answered without
// pressing, is hung up, and carol's ringing phone is cancelled.
func TestOfferLeadInstantCallConnectsWinner(t *testing.T) {
	gw, number := dialerGateway(t, `
rules:
  - {name: web leads, active: true, criteria: {source: [web form]}, distribution: instant_call,
     agents: [{user: alice}, {user: bob}, {user: carol}, {user: dave}]}
`)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	carol := registered(t, gw, "carol", "carol-pw-3", "127.0.0.1")
	carol.answer.Store("ignore")
	dave := registered(t, gw, "dave", "dave-pw-44", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := gw.dir.CreateLead(ctx, directory.Lead{Phones: []string{"+17375550042"}, Name: "Web Lead", Source: "web form", Type: directory.LeadBuyer})
	if err != nil {
		t.Fatal(err)
	}
	d, err := router.New(gw.dir, gw.store).RouteLead(ctx, l.ID, false)
	if err != nil || d.Mode != router.ModeInstant {
		t.Fatalf("routing the lead: %v %+v", err, d)
	}
	id, err := gw.OfferLead(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice and bob answered", func() bool { return dialogOf(alice, 0)() && dialogOf(bob, 0)() })
	if f := fromOf(t, bob, 0); f.Address.User != "+15125550100" || f.DisplayName != "Web Lead" {
		t.Errorf("bob's phone showed %s", f.Value())
	}
	// The whisper reaches bob once his bridge runs; then he presses 1.
	eventually(t, "the whisper at bob", func() bool { return bob.rtp.received.Load() > 5 })
	if number.invites.Load() != 0 {
		t.Fatal("the lead was called before anyone pressed 1")
	}
	bob.rtp.sendDigit(t, 1)
	eventually(t, "the lead called", dialogOf(number, 0))
	if f := fromOf(t, number, 0); f.Address.User != "+15125550100" {
		t.Errorf("the lead saw caller ID %s, want the buyer number", f.Value())
	}
	eventually(t, "alice hung up", func() bool { return alice.byes.Load() == 1 })
	eventually(t, "carol cancelled", func() bool { return carol.cancels.Load() == 1 })
	if dave.invites.Load() != 0 {
		t.Error("dave, without dialer access, was offered the lead")
	}
	eventually(t, "the call bridged", bridged(t, gw))
	before := number.rtp.received.Load()
	bob.rtp.send(t, 20)
	eventually(t, "bob's audio at the lead", func() bool { return number.rtp.received.Load() >= before+10 })
	hangupAnswered(t, number, 0)
	eventually(t, "bob hung up", func() bool { return bob.byes.Load() == 1 })
	r := closedRecord(t, gw)
	if r.ID != id || r.Result != billing.ResultAnswered || r.Username != "bob" || r.LeadID != l.ID ||
		r.From != "+15125550100" || r.To != "+17375550042" || r.Role != "buyer" {
		t.Errorf("record %+v", r)
	}
	got, err := gw.dir.GetLead(ctx, l.ID)
	if err != nil || got.Agents["buyer"] != "bob" {
		t.Errorf("lead %+v %v, want bob as its buyer agent", got, err)
	}
	if !strings.Contains(gw.logs.String(), "no dialer access") {
		t.Error("dave's exclusion not logged")
	}
}

// The same lead under a claim rule: the agents are offered it one at a
// time; alice answers and does not press 1, so after the accept timeout
// she is hung up and bob is offered it, presses 1 and is connected.
func TestOfferLeadClaimGoesToWhoPresses(t *testing.T) {
	gw, number := dialerGateway(t, `
rules:
  - {name: web leads, active: true, criteria: {source: [web form]}, distribution: claim, claim_timeout: 10,
     agents: [{user: alice}, {user: bob}]}
`)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := gw.dir.CreateLead(ctx, directory.Lead{Phones: []string{"+17375550043"}, Source: "web form", Type: directory.LeadBuyer})
	if err != nil {
		t.Fatal(err)
	}
	d, err := router.New(gw.dir, gw.store).RouteLead(ctx, l.ID, false)
	if err != nil || d.Mode != router.ModeClaim {
		t.Fatalf("routing the lead: %v %+v", err, d)
	}
	if _, err := gw.OfferLead(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice answered", dialogOf(alice, 0))
	if bob.invites.Load() != 0 {
		t.Error("bob was offered the lead while alice had it")
	}
	eventually(t, "alice hung up after the accept timeout", func() bool { return alice.byes.Load() == 1 })
	eventually(t, "the whisper at bob", func() bool { return bob.rtp.received.Load() > 5 })
	bob.rtp.sendDigit(t, 1)
	eventually(t, "the lead answered", dialogOf(number, 0))
	eventually(t, "the call bridged", bridged(t, gw))
	hangupAnswered(t, bob, 0)
	eventually(t, "the lead hung up", func() bool { return number.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Username != "bob" || r.LeadID != l.ID {
		t.Errorf("record %+v", r)
	}
	if got, err := gw.dir.GetLead(ctx, l.ID); err != nil || got.Agents["buyer"] != "bob" {
		t.Errorf("lead %+v %v, want bob as its buyer agent", got, err)
	}
}

// The gateway stopping while a placed call's number rings, with a drain
// timeout that ends calls at once (negative): the number gets CANCEL, the
// agent BYE, and the record says why; a new click-to-call is refused.
func TestClickToCallDuringDrain(t *testing.T) {
	addr := "127.0.0.3:" + itoa(sipptest.FreeUDPPort(t, "127.0.0.3"))
	gw := startGatewayWith(t, dialerTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: addr, Inbound: trunkSource, Outbound: true}}
		b.Calls.DrainTimeout = -1
	})
	number := newPhone(t, addr)
	number.answer.Store("ignore")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	if _, err := gw.ClickToCall(context.Background(), router.Dial{User: "alice", To: "+17375550001"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the number rings", func() bool { return number.invites.Load() == 1 })
	stopped := make(chan error, 1)
	go func() { stopped <- gw.stop() }()
	eventually(t, "the drain begun", func() bool { return strings.Contains(gw.logs.String(), "sip draining") })
	if _, err := gw.ClickToCall(context.Background(), router.Dial{User: "alice", To: "+17375550002"}); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("click-to-call while stopping: %v, want unavailable", err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the gateway did not end the call at once")
	}
	if number.cancels.Load() != 1 || alice.byes.Load() != 1 {
		t.Errorf("number cancelled %d times, alice got %d BYEs; want 1 and 1", number.cancels.Load(), alice.byes.Load())
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultFailed || r.SIPCode != 503 || r.SIPReason != "gateway stopped" {
		t.Errorf("record %+v", r)
	}
}

package sip_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
)

// statusOf is the SIP status of a failed call attempt.
func statusOf(t *testing.T, err error) int {
	t.Helper()
	var dr *sipgo.ErrDialogResponse
	if !errors.As(err, &dr) {
		t.Fatalf("call error %v is not a SIP response", err)
	}
	return dr.Res.StatusCode
}

func registered(t *testing.T, gw *gateway, user, pw string, ip string) *phone {
	t.Helper()
	p := newPhone(t, ip)
	if res := p.register(gw, user, pw, 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER %s: %d %s", user, res.StatusCode, res.Reason)
	}
	return p
}

func TestRegisterBadPassword(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	p := newPhone(t, "127.0.0.1")
	if res := p.register(gw, "alice", "wrong", 300); res.StatusCode != 403 {
		t.Fatalf("REGISTER with a wrong password: %d, want 403", res.StatusCode)
	}
	cs, err := gw.store.ListContacts(context.Background(), "alice", time.Now())
	if err != nil || len(cs) != 0 {
		t.Fatalf("contacts after a refused REGISTER: %v %v", cs, err)
	}
	// Un-register: expires 0 removes the binding.
	phone := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	if cs, _ := gw.store.ListContacts(context.Background(), "alice", time.Now()); len(cs) != 1 {
		t.Fatalf("contacts after REGISTER: %+v", cs)
	}
	if res := phone.register(gw, "alice", "alice-pw-1", 0); res.StatusCode != 200 {
		t.Fatalf("un-REGISTER: %d", res.StatusCode)
	}
	if cs, err := gw.store.ListContacts(context.Background(), "alice", time.Now()); err != nil || len(cs) != 0 {
		t.Fatalf("contacts after un-REGISTER: %+v (%v)", cs, err)
	}
}

func TestInboundBusy(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("busy")
	trunk := newPhone(t, "127.0.0.2")
	_, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if code := statusOf(t, err); code != 486 {
		t.Fatalf("busy agent: caller got %d, want 486", code)
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultBusy || r.SIPCode != 486 {
		t.Errorf("record = %+v", r)
	}
}

// A call that requires an extension the gateway lacks (reliable
// provisional responses here) is refused with 420 before any phone rings
// (RFC 3261 8.2.2.3), as every other request is.
func TestInviteRequiringUnsupportedExtension(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	_, err := trunk.call(gw, "+15125550110", "+17375559999", nil, gosip.NewHeader("Require", "100rel"))
	var dr *sipgo.ErrDialogResponse
	if !errors.As(err, &dr) || dr.Res.StatusCode != 420 || header(dr.Res, "Unsupported") != "100rel" {
		t.Fatalf("call: %v, want 420 with Unsupported: 100rel", err)
	}
	if n := alice.invites.Load(); n != 0 {
		t.Errorf("alice's phone got %d INVITEs", n)
	}
}

func TestInboundKnownLeadAgentNotRegistered(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	trunk := newPhone(t, "127.0.0.2")
	_, err := trunk.call(gw, "+15125550100", "+17375550001", nil)
	if code := statusOf(t, err); code != 480 {
		t.Fatalf("caller got %d, want 480", code)
	}
	r := closedRecord(t, gw)
	if r.Result != billing.ResultUnavailable || r.Username != "bob" || r.LeadID == 0 || !strings.Contains(r.Route, "buyer agent is bob") {
		t.Errorf("record = %+v", r)
	}
}

func TestInboundKnownLeadRingsAssignedAgent(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550100", "+17375550001", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if bob.invites.Load() != 1 {
		t.Errorf("bob's phone got %d INVITEs", bob.invites.Load())
	}
	// The callee hangs up this time.
	bob.mu.Lock()
	d := bob.dialogs[0]
	bob.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("BYE from bob: %v", err)
	}
	r := closedRecord(t, gw)
	if r.Result != billing.ResultAnswered || r.Username != "bob" || r.SIPReason != "BYE from callee" || r.NumberKind != "role" || r.Role != "buyer" {
		t.Errorf("record = %+v", r)
	}
	_ = sess
}

func TestInboundUnknownCallerWithoutCatchAll(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	trunk := newPhone(t, "127.0.0.2")
	_, err := trunk.call(gw, "+15125550100", "+17375559999", nil)
	if code := statusOf(t, err); code != 404 {
		t.Fatalf("caller got %d, want 404", code)
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultNoRoute || !strings.Contains(r.Route, "no catch-all number") {
		t.Errorf("record = %+v", r)
	}
}

func TestInboundUnknownCallerToCatchAll(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	gw := startGateway(t, gatewayTeam+`  - {phones: ["+17375550002"], name: Other}
`, carrier.addr)
	if _, err := gw.dir.CreateNumber(context.Background(), directory.Number{E164: "+15125550199", Kind: directory.KindCatchAll}); err != nil {
		t.Fatal(err)
	}
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550100", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	carrier.mu.Lock()
	inv := carrier.dialogs[0].InviteRequest
	carrier.mu.Unlock()
	if inv.Recipient.User != "+15125550199" || inv.From().Address.User != "+17375559999" {
		t.Errorf("carrier got INVITE for %q from %q; want the catch-all from the caller", inv.Recipient.User, inv.From().Address.User)
	}
	// Max-Forwards goes down by one, so a carrier routing the catch-all
	// back to the gateway cannot loop forever.
	if mf := inv.MaxForwards(); mf == nil || mf.Val() != 69 {
		t.Errorf("Max-Forwards = %v, want 69", mf)
	}
	trunk.rtp.send(t, 10)
	carrier.rtp.send(t, 10)
	eventually(t, "RTP both ways", func() bool { return trunk.rtp.received.Load() >= 5 && carrier.rtp.received.Load() >= 5 })
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Username != "" || !strings.Contains(r.Route, "catch-all") {
		t.Errorf("record = %+v", r)
	}
	// R-IN-3b: no lead is created for the caller.
	if n, err := gw.store.CountLeads(context.Background()); err != nil || n != 2 {
		t.Errorf("leads = %d (%v), want the 2 of the team", n, err)
	}
}

func TestParallelForksFirstAnswerWins(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	desk := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	mobile := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	mobile.answer.Store("ignore")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	// Both phones ring; the one that did not answer may see its INVITE a
	// moment after the other answered.
	eventually(t, "an INVITE at each phone", func() bool { return desk.invites.Load() == 1 && mobile.invites.Load() == 1 })
	eventually(t, "CANCEL to the phone that did not answer", func() bool { return mobile.cancels.Load() == 1 })
	hangup(t, sess)
	eventually(t, "BYE to the phone that answered", func() bool { return desk.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Username != "alice" {
		t.Errorf("record = %+v", r)
	}
	if mobile.byes.Load() != 0 {
		t.Error("the phone that never answered got a BYE")
	}
}

func TestCallerCancels(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("ignore")
	trunk := newPhone(t, "127.0.0.2")
	go func() {
		eventually(t, "alice rings", func() bool { return alice.invites.Load() == 1 })
		trunk.hangupRinging()
	}()
	_, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err == nil {
		t.Fatal("cancelled call was answered")
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultCancelled || r.SIPCode != 487 {
		t.Errorf("record = %+v", r)
	}
}

func TestAgentToAgent(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	sess, err := alice.call(gw, "bob", "alice", &sipgo.DigestAuth{Username: "alice", Password: "alice-pw-1"})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	alice.rtp.send(t, 10)
	bob.rtp.send(t, 10)
	eventually(t, "RTP both ways", func() bool { return alice.rtp.received.Load() >= 5 && bob.rtp.received.Load() >= 5 })
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Direction != billing.Internal || r.Result != billing.ResultAnswered || r.From != "alice" || r.To != "bob" {
		t.Errorf("record = %+v", r)
	}
}

func TestOutboundThroughTrunk(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	gw := startGateway(t, gatewayTeam, carrier.addr)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	sess, err := alice.call(gw, "5125557777", "alice", &sipgo.DigestAuth{Username: "alice", Password: "alice-pw-1"})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	carrier.mu.Lock()
	inv := carrier.dialogs[0].InviteRequest
	carrier.mu.Unlock()
	if inv.Recipient.User != "+15125557777" || inv.From().Address.User != "+15125550100" {
		t.Errorf("carrier got INVITE for %q from %q; want +15125557777 from the buyer number", inv.Recipient.User, inv.From().Address.User)
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Direction != billing.Outbound || r.Result != billing.ResultAnswered || r.Dialed != "+15125550100" || r.Trunk != "carrier" {
		t.Errorf("record = %+v", r)
	}
}

func TestOutboundWithoutDialerAccess(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	_, err := bob.call(gw, "5125557777", "bob", &sipgo.DigestAuth{Username: "bob", Password: "bob-pw-22"})
	if code := statusOf(t, err); code != 403 {
		t.Fatalf("bob without dialer access got %d, want 403", code)
	}
}

var (
	aliceAuth = &sipgo.DigestAuth{Username: "alice", Password: "alice-pw-1"}
	authWrong = sipgo.DigestAuth{Username: "cloud-in", Password: "nope"}
	authCloud = sipgo.DigestAuth{Username: "cloud-in", Password: "in-pw"}
)

// hangup sends BYE on sess.
func hangup(t *testing.T, sess *sipgo.DialogClientSession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sess.Bye(ctx); err != nil {
		t.Errorf("BYE: %v", err)
	}
}

func TestHoldResumeAndDTMFInfo(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	hold := strings.Replace(trunk.rtp.sdp(), "a=sendrecv", "a=sendonly", 1)
	res := inDialog(t, sess, "INVITE", "application/sdp", hold)
	if res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	if d, err := media.ParseSDP(res.Body()); err != nil || d.Direction != media.Recvonly {
		t.Errorf("hold answer direction = %v (%v), want recvonly", d.Direction, err)
	}
	res = inDialog(t, sess, "INFO", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	if res.StatusCode != 200 {
		t.Fatalf("INFO: %d", res.StatusCode)
	}
	if res := inDialog(t, sess, "INVITE", "application/sdp", trunk.rtp.sdp()); res.StatusCode != 200 {
		t.Fatalf("resume re-INVITE: %d", res.StatusCode)
	}
	alice.mu.Lock()
	holds, infos := alice.holds, alice.infos
	alice.mu.Unlock()
	if len(holds) != 2 || holds[0] != media.Sendonly || holds[1] != media.Sendrecv {
		t.Errorf("alice's phone saw re-INVITEs with directions %v, want [sendonly sendrecv]", holds)
	}
	if len(infos) != 1 || !strings.Contains(infos[0], "Signal=5") {
		t.Errorf("alice's phone got INFO bodies %q", infos)
	}
	// Media still flows after resume.
	trunk.rtp.send(t, 10)
	eventually(t, "RTP after resume", func() bool { return alice.rtp.received.Load() >= 5 })
	hangup(t, sess)
}

func TestNoAnswer(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("ignore")
	trunk := newPhone(t, "127.0.0.2")
	_, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if code := statusOf(t, err); code != 480 {
		t.Fatalf("no answer: caller got %d, want 480", code)
	}
	eventually(t, "CANCEL to the ringing phone", func() bool { return alice.cancels.Load() == 1 })
	if r := closedRecord(t, gw); r.Result != billing.ResultNoAnswer || r.SIPCode != 480 {
		t.Errorf("record = %+v", r)
	}
}

func TestInboundRingsVerifiedCellPhoneThroughTrunk(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	team := strings.Replace(gatewayTeam, "sip_password: alice-pw-1, dialer_access: true}",
		`sip_password: alice-pw-1, dialer_access: true, cell_phone: "+15125550181", cell_verified: true}`, 1)
	gw := startGateway(t, team, carrier.addr)
	desk := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	desk.answer.Store("ignore")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	carrier.mu.Lock()
	inv := carrier.dialogs[0].InviteRequest
	carrier.mu.Unlock()
	if inv.Recipient.User != "+15125550181" {
		t.Errorf("carrier got INVITE for %q, want alice's cell phone", inv.Recipient.User)
	}
	eventually(t, "CANCEL to the desk phone", func() bool { return desk.cancels.Load() == 1 })
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Username != "alice" || r.Result != billing.ResultAnswered {
		t.Errorf("record = %+v", r)
	}
}

func TestPhoneRegisteredOverTCP(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := newPhone(t, "127.0.0.1")
	if res := alice.registerOver(gw, "tcp", "alice", "alice-pw-1", 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER over TCP: %d", res.StatusCode)
	}
	cs, err := gw.store.ListContacts(context.Background(), "alice", time.Now())
	if err != nil || len(cs) != 1 || !strings.HasPrefix(cs[0].Source, "tcp:127.0.0.1:") {
		t.Fatalf("contacts = %+v (%v)", cs, err)
	}
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call to a TCP phone: %v\n%s", err, gw.logs)
	}
	trunk.rtp.send(t, 10)
	eventually(t, "RTP at the TCP phone", func() bool { return alice.rtp.received.Load() >= 5 })
	hangup(t, sess)
	eventually(t, "BYE over TCP", func() bool { return alice.byes.Load() == 1 })
}

func TestKeepalivesToUDPPhones(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Registrar.KeepaliveInterval = 100 * time.Millisecond
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	eventually(t, "OPTIONS keepalives at the phone", func() bool { return alice.options.Load() >= 2 })
}

func TestEarlyMediaRelayed(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("early")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	// Alice's phone sent audio only between its 183 and its 200: the
	// gateway bridged it before the answer.
	eventually(t, "early media at the caller", func() bool { return trunk.rtp.received.Load() >= 5 })
	// The 183 carried the gateway's answer to the caller's offer; the 200
	// repeats it (RFC 3261 13.3.1.1, RFC 6337 3.1: no second answer).
	trunk.mu.Lock()
	var early []byte
	for _, res := range trunk.provisionals {
		if res.StatusCode == 183 && len(res.Body()) > 0 {
			early = res.Body()
		}
	}
	trunk.mu.Unlock()
	if early == nil {
		t.Fatal("the caller got no 183 with SDP")
	}
	if final := sess.InviteResponse.Body(); !bytes.Equal(early, final) {
		t.Errorf("the 200's SDP differs from the 183's:\n183:\n%s\n200:\n%s", early, final)
	}
	hangup(t, sess)
}

// A callee that repeats its 183 keeps its early media: the caller gets the
// 183 again with the same answer, not a 180 that would have its phone ring
// locally over the callee's audio.
func TestEarlyMediaRepeated183(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("early-twice")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	trunk.mu.Lock()
	var got []string
	for _, res := range trunk.provisionals {
		if res.StatusCode == 100 {
			continue
		}
		same := bytes.Equal(res.Body(), sess.InviteResponse.Body())
		got = append(got, fmt.Sprintf("%d (same SDP as the 200: %v)", res.StatusCode, same))
	}
	trunk.mu.Unlock()
	want := []string{"183 (same SDP as the 200: true)", "183 (same SDP as the 200: true)"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("the caller got %v, want %v", got, want)
	}
	hangup(t, sess)
}

func TestRegistrationsGauge(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	reg := prometheus.NewRegistry()
	reg.MustRegister(gw.Collectors()...)
	gauge := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "teamline_sip_registrations" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no teamline_sip_registrations")
		return 0
	}
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	if got := gauge(); got != 3 {
		t.Errorf("registrations = %v, want 3", got)
	}
	if res := bob.register(gw, "bob", "bob-pw-22", 0); res.StatusCode != 200 {
		t.Fatalf("un-REGISTER: %d", res.StatusCode)
	}
	if got := gauge(); got != 2 {
		t.Errorf("registrations after bob left = %v, want 2", got)
	}
}

func TestRegisterContactTooLong(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	p := newPhone(t, "127.0.0.1")
	long := strings.Repeat("x", 2000)
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: portOf(gw.Addr("udp"))})
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}})
	fh := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Params: gosip.NewParams()}
	fh.Params.Add("tag", "t1")
	req.AppendHeader(fh)
	req.AppendHeader(gosip.NewHeader("Contact", "<sip:alice@127.0.0.1:5062;x="+long+">"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.client.DoDigestAuth(ctx, req, res, *aliceAuth)
	if err != nil || res.StatusCode != 400 {
		t.Fatalf("REGISTER with a 2 KB contact: %v %v, want 400", res, err)
	}
}

// reinviteAnswered sends a re-INVITE from p (the answering phone of its
// first call) offering its media with direction, acknowledges the 200 and
// returns the gateway's SDP answer.
func reinviteAnswered(t *testing.T, p *phone, direction string) media.Description {
	t.Helper()
	p.mu.Lock()
	d := p.dialogs[0]
	p.mu.Unlock()
	req := gosip.NewRequest(gosip.INVITE, d.InviteRequest.Contact().Address)
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(strings.Replace(p.rtp.sdp(), "a=sendrecv", "a="+direction, 1)))
	// sipgo's dialog sessions send in-dialog requests from the pooled
	// connection only when told which local address to use.
	req.Laddr = gosip.Addr{IP: net.ParseIP("127.0.0.1"), Port: portOf(p.addr)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := d.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE %s: %v %v, want 200", direction, res, err)
	}
	_ = d.WriteRequest(gosip.NewRequest(gosip.ACK, req.Recipient))
	ans, err := media.ParseSDP(res.Body())
	if err != nil {
		t.Fatalf("re-INVITE %s: answer %v", direction, err)
	}
	return ans
}

func TestHoldFromTheCallee(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if d := reinviteAnswered(t, alice, "inactive"); d.Direction != media.Inactive {
		t.Errorf("answer direction %v, want inactive", d.Direction)
	}
	trunk.mu.Lock()
	holds := trunk.holds
	trunk.mu.Unlock()
	if len(holds) != 1 || holds[0] != media.Inactive {
		t.Errorf("the carrier saw re-INVITEs with directions %v, want [inactive]", holds)
	}
	hangup(t, sess)
	eventually(t, "BYE relayed to alice", func() bool { return alice.byes.Load() == 1 })
}

func TestAddressBlockedAfterRepeatedFailures(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Registrar.MaxAuthFailures = 3
	})
	guesser := newPhone(t, "127.0.0.5")
	for i := range 3 {
		if res := guesser.register(gw, "alice", fmt.Sprintf("guess-%d", i), 300); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d, want 403", i, res.StatusCode)
		}
	}
	// Blocked: even the right password gets no answer now.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	reg := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: portOf(gw.Addr("udp"))})
	reg.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}})
	if res, err := guesser.client.Do(ctx, reg); err == nil {
		t.Fatalf("blocked address got %d", res.StatusCode)
	}
	// Another address is not affected.
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	if !strings.Contains(gw.logs.String(), "sip address blocked after repeated authentication failures") {
		t.Error("the block was not logged")
	}
}

// TestReinvite2xxRetransmittedUntilACK: over UDP the gateway resends the
// 200 to a re-INVITE until the ACK comes (RFC 3261 13.3.1.4).
func TestReinvite2xxRetransmittedUntilACK(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	var resent atomic.Int32
	trunk := newPhone(t, "127.0.0.2", sipgo.WithUserAgentTransactionLayerOptions(
		gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
			if r.StatusCode == 200 && r.CSeq() != nil && r.CSeq().MethodName == gosip.INVITE {
				resent.Add(1)
			}
		})))
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	hold := strings.Replace(trunk.rtp.sdp(), "a=sendrecv", "a=sendonly", 1)
	req := gosip.NewRequest(gosip.INVITE, sess.InviteResponse.Contact().Address)
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(hold))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := sess.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE: %v %v", res, err)
	}
	// No ACK yet: the 200 comes again.
	eventually(t, "the 200 retransmitted", func() bool { return resent.Load() >= 1 })
	if err := sess.WriteRequest(gosip.NewRequest(gosip.ACK, req.Recipient)); err != nil {
		t.Fatal(err)
	}
	// After the ACK it stops (the next retransmission would be due within T2).
	time.Sleep(200 * time.Millisecond)
	n := resent.Load()
	time.Sleep(gosip.T2 + time.Second)
	if got := resent.Load(); got != n {
		t.Errorf("the 200 was still resent after the ACK: %d more times", got-n)
	}
	hangup(t, sess)
}

func TestSilentPhoneRemovedAfterMissedKeepalives(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Registrar.KeepaliveInterval = 100 * time.Millisecond
	})
	alive := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	gone := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	gone.conn.Close() // the phone went away without un-registering
	eventually(t, "the silent phone's binding removed", func() bool {
		cs, err := gw.store.ListContacts(context.Background(), "alice", time.Now())
		return err == nil && len(cs) == 1
	})
	cs, _ := gw.store.ListContacts(context.Background(), "alice", time.Now())
	if want := "127.0.0.1:" + strconv.Itoa(portOf(alive.addr)); len(cs) != 1 || !strings.HasSuffix(cs[0].Source, want) {
		t.Errorf("left contacts %+v, want the phone that answers (%s)", cs, want)
	}
}

// panicRouter stands for a bug in routing.
type panicRouter struct{}

func (panicRouter) Route(context.Context, router.Request) (router.Decision, error) {
	panic("routing bug")
}

func (panicRouter) Claim(context.Context, router.Decision, string) error { return nil }

func (panicRouter) Answered(context.Context, router.Decision, string) error { return nil }

// A panic while a call is set up answers that call 500 and leaves the
// gateway serving: the recovery covers the call path too, not only the
// simple requests.
func TestPanickingCallPathAnswers500(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Router = panicRouter{}
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource, Outbound: true}}
	})
	trunk := newPhone(t, "127.0.0.2")
	if res := trunk.invite(t, gw, "+15125550110"); res == nil || res.StatusCode != 500 {
		t.Fatalf("INVITE whose routing panics: %v, want 500", res)
	}
	if !strings.Contains(gw.logs.String(), "sip handler panicked") {
		t.Error("panic not logged")
	}
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1") // still serving
}

package sip_test

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/sip"
)

func TestTrunkRegistersWithCarrier(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: carrier.addr, Username: "acct42", Password: "trunk-pw",
			Register: true, RegisterExpires: 10 * time.Minute, Outbound: true}}
	})
	var req *gosip.Request
	select {
	case req = <-carrier.registers:
	case <-time.After(5 * time.Second):
		t.Fatalf("no authenticated REGISTER reached the carrier\n%s", gw.logs)
	}
	auth := req.GetHeader("Authorization").Value()
	if !strings.Contains(auth, `username="acct42"`) || strings.Contains(auth, "trunk-pw") {
		t.Errorf("Authorization = %q", auth)
	}
	if e := req.GetHeader("Expires"); e == nil || e.Value() != "600" {
		t.Errorf("Expires = %v, want 600", e)
	}
	if to := req.To(); to == nil || to.Address.User != "acct42" {
		t.Errorf("To = %v", to)
	}
	// Stopping the gateway removes the binding.
	eventually(t, "registration confirmed", func() bool { return strings.Contains(gw.logs.String(), "trunk registered") })
	if err := gw.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case req = <-carrier.registers:
		if e := req.GetHeader("Expires"); e == nil || e.Value() != "0" {
			t.Errorf("REGISTER at shutdown has Expires %v, want 0", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no un-REGISTER at shutdown\n%s", gw.logs)
	}
}

func TestOutboundFailoverAndCarrierAuth(t *testing.T) {
	down := newPhone(t, "127.0.0.2")
	down.answer.Store("unavailable")
	busyCarrier := newPhone(t, "127.0.0.2")
	up := newPhone(t, "127.0.0.2")
	up.answer.Store("challenge")
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{
			{Name: "down", Proxy: down.addr, Outbound: true},
			{Name: "up", Proxy: up.addr, Username: "acct", Password: "pw", Outbound: true},
			{Name: "never", Proxy: busyCarrier.addr, Outbound: true},
		}
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	sess, err := alice.call(gw, "+15125557777", "alice", aliceAuth)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, gw.logs)
	}
	if down.invites.Load() != 1 || up.authorizations.Load() != 1 || busyCarrier.invites.Load() != 0 {
		t.Errorf("INVITEs: down %d, up (with credentials) %d, third %d; want 1, 1, 0",
			down.invites.Load(), up.authorizations.Load(), busyCarrier.invites.Load())
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Trunk != "up" ||
		!strings.Contains(r.Route, "trunks in order: down, up, never") {
		t.Errorf("record = %+v, want answered through trunk up", r)
	}
}

// Every trunk failing with a server error: each was tried, and the caller
// gets 480, not the carrier's 503 (which would tell the caller's side that
// the gateway itself is down).
func TestOutboundAllTrunksDown(t *testing.T) {
	first, second := newPhone(t, "127.0.0.2"), newPhone(t, "127.0.0.2")
	first.answer.Store("unavailable")
	second.answer.Store("unavailable")
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "a", Proxy: first.addr, Outbound: true}, {Name: "b", Proxy: second.addr, Outbound: true}}
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	_, err := alice.call(gw, "+15125557777", "alice", aliceAuth)
	if code := statusOf(t, err); code != 480 {
		t.Fatalf("got %d, want 480", code)
	}
	if first.invites.Load() != 1 || second.invites.Load() != 1 {
		t.Errorf("INVITEs: %d and %d, want one through each trunk", first.invites.Load(), second.invites.Load())
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultUnavailable || r.SIPCode != 480 {
		t.Errorf("record %s %d, want unavailable 480", r.Result, r.SIPCode)
	}
}

func TestOutboundNoFailoverOnBusy(t *testing.T) {
	busy := newPhone(t, "127.0.0.2")
	busy.answer.Store("busy")
	second := newPhone(t, "127.0.0.2")
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "a", Proxy: busy.addr, Outbound: true}, {Name: "b", Proxy: second.addr, Outbound: true}}
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	_, err := alice.call(gw, "+15125557777", "alice", aliceAuth)
	if code := statusOf(t, err); code != 486 {
		t.Fatalf("got %d, want 486", code)
	}
	if second.invites.Load() != 0 {
		t.Error("a busy callee was retried through the next trunk")
	}
}

// userLookups counts the directory's user lookups.
type userLookups struct {
	sip.Directory
	n atomic.Int32
}

func (u *userLookups) GetUserByUsername(ctx context.Context, username string) (directory.User, error) {
	u.n.Add(1)
	return u.Directory.GetUserByUsername(ctx, username)
}

func TestTrunkInboundByCredentials(t *testing.T) {
	var lookups *userLookups
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "cloud", Proxy: "127.0.0.1:9", InboundUsername: "cloud-in", InboundPassword: "in-pw"}}
		lookups = &userLookups{Directory: b.Directory}
		b.Directory = lookups
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	carrier := newPhone(t, "127.0.0.3")
	before := lookups.n.Load()
	if _, err := carrier.call(gw, "+15125550110", "+17375559999", nil); statusOf(t, err) != 407 {
		t.Fatal("an unauthenticated INVITE from an unknown address was not challenged")
	}
	// A trunk authenticates by digest, so any INVITE without credentials
	// is challenged: the directory has nothing to add (a scanner's every
	// packet would be a database query).
	if n := lookups.n.Load() - before; n != 0 {
		t.Errorf("the challenge took %d user lookups, want none", n)
	}
	if _, err := carrier.call(gw, "+15125550110", "+17375559999", &authWrong); statusOf(t, err) != 403 {
		t.Fatal("wrong trunk credentials were not refused")
	}
	sess, err := carrier.call(gw, "+15125550110", "+17375559999", &authCloud)
	if err != nil {
		t.Fatalf("call with trunk credentials: %v\n%s", err, gw.logs)
	}
	if alice.invites.Load() != 1 {
		t.Errorf("alice's phone got %d INVITEs", alice.invites.Load())
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Trunk != "cloud" || r.Direction != billing.Inbound {
		t.Errorf("record = %+v", r)
	}
}

// A request from an address that is no trunk's is challenged whatever the
// mode (so that answers tell nothing about which users exist); credentials
// that fail get 403, or with sip.unknown_source: drop nothing at all.
func TestUnknownSourceRejectedOrDropped(t *testing.T) {
	for _, drop := range []bool{false, true} {
		gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
			b.Trunks = []sip.Trunk{{Name: "c", Proxy: "127.0.0.1:9", Inbound: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}}
			b.Registrar.DropUnknown = drop
		})
		scanner := newPhone(t, "127.0.0.4")
		req := newInvite(t, "udp", gw.Addr("udp"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := scanner.client.Do(ctx, req)
		if err != nil || res.StatusCode != 407 {
			cancel()
			t.Fatalf("drop %v: got %v %v, want 407", drop, res, err)
		}
		res, err = scanner.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "scanner", Password: "guess"})
		cancel()
		switch {
		case drop && err == nil:
			t.Errorf("drop: failed credentials got %d, want no answer", res.StatusCode)
		case !drop && (err != nil || res.StatusCode != 403):
			t.Errorf("reject: failed credentials got %v %v, want 403", res, err)
		}
	}
}

func TestOutboundCallerIDHeaderAndInternational(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	gw := startGateway(t, gatewayTeam, carrier.addr)
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")

	// Her own personal number, picked for this call.
	sess, err := alice.call(gw, "5125557777", "alice", aliceAuth, gosip.NewHeader("X-Teamline-Caller-ID", "+15125550110"))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	carrier.mu.Lock()
	inv := carrier.dialogs[0].InviteRequest
	carrier.mu.Unlock()
	if got := inv.From().Address.User; got != "+15125550110" {
		t.Errorf("caller ID %q, want alice's personal number", got)
	}
	if inv.GetHeader("X-Teamline-Caller-ID") != nil {
		t.Error("the caller-ID header leaked to the carrier")
	}
	hangup(t, sess)

	// A number that is not hers (not the account's at all) is refused.
	_, err = alice.call(gw, "5125557777", "alice", aliceAuth, gosip.NewHeader("X-Teamline-Caller-ID", "+15125559876"))
	if code := statusOf(t, err); code != 403 {
		t.Errorf("foreign caller ID: %d, want 403", code)
	}
	// International destinations are off by default (R-OUT-3).
	_, err = alice.call(gw, "+442079460000", "alice", aliceAuth)
	if code := statusOf(t, err); code != 403 {
		t.Errorf("international call: %d, want 403", code)
	}
	if n := carrier.invites.Load(); n != 1 {
		t.Errorf("carrier got %d INVITEs, want only the allowed call", n)
	}
}

func TestOutboundTrunkOverTCP(t *testing.T) {
	carrier := newPhone(t, "127.0.0.2")
	tcpAddr := carrier.serveTCP(t)
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "tcp-carrier", Proxy: tcpAddr, Transport: "tcp", Outbound: true}}
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	sess, err := alice.call(gw, "5125557777", "alice", aliceAuth)
	if err != nil {
		t.Fatalf("call through a TCP trunk: %v\n%s", err, gw.logs)
	}
	carrier.mu.Lock()
	inv := carrier.dialogs[0].InviteRequest
	carrier.mu.Unlock()
	if !strings.EqualFold(inv.Transport(), "tcp") {
		t.Errorf("carrier got the INVITE over %s, want TCP", inv.Transport())
	}
	alice.rtp.send(t, 10)
	eventually(t, "RTP at the carrier", func() bool { return carrier.rtp.received.Load() >= 5 })
	hangup(t, sess)
	eventually(t, "BYE to the carrier over TCP", func() bool { return carrier.byes.Load() == 1 })
}

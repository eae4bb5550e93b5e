package sip_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/sip"
)

// A number dialled in any form RFC 3261 and RFC 3966 allow reaches the
// same agent, and the call record keeps it clean: %-escaped (RFC 3261
// 19.1.4), with visual separators, with telephone-subscriber parameters
// (number portability).
func TestDialledNumberCleaned(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	for i, dialled := range []string{
		"%2B1512555%30110",
		"+1-512-555-0110",
		"(512)555.0110",
		"+15125550110;npdi;rn=+15125559999",
	} {
		sess, err := trunk.call(gw, dialled, "+17375559999", nil)
		if err != nil {
			t.Fatalf("call to %q: %v", dialled, err)
		}
		if n := alice.invites.Load(); n != int32(i+1) {
			t.Errorf("call to %q: alice's phone got %d INVITEs, want %d", dialled, n, i+1)
		}
		hangup(t, sess)
		r := closedRecord(t, gw)
		if r.To != "+15125550110" || r.Dialed != "+15125550110" || r.Username != "alice" || r.Result != billing.ResultAnswered {
			t.Errorf("call to %q: record to %q dialed %q user %q result %s, want +15125550110 answered by alice",
				dialled, r.To, r.Dialed, r.Username, r.Result)
		}
	}
}

// countingBackend counts every directory and router call a request makes:
// a user part that is refused must not cost one. User lookups are counted
// by userLookups.
type countingBackend struct {
	userLookups
}

func (c *countingBackend) GetSettings(ctx context.Context) (directory.Settings, error) {
	c.n.Add(1)
	return c.Directory.GetSettings(ctx)
}

func (c *countingBackend) GetNumberByE164(ctx context.Context, e string) (directory.Number, error) {
	c.n.Add(1)
	return c.Directory.GetNumberByE164(ctx, e)
}

func (c *countingBackend) ListNumbers(ctx context.Context, f directory.NumberFilter) ([]directory.Number, error) {
	c.n.Add(1)
	return c.Directory.ListNumbers(ctx, f)
}

func (c *countingBackend) FindLeadByPhone(ctx context.Context, e string) (directory.Lead, error) {
	c.n.Add(1)
	return c.Directory.FindLeadByPhone(ctx, e)
}

type countingRouter struct {
	sip.Router
	n *atomic.Int32
}

func (r countingRouter) Route(ctx context.Context, req router.Request) (router.Decision, error) {
	r.n.Add(1)
	return r.Router.Route(ctx, req)
}

// A user part that is no number and no user name is refused before the
// directory, the router or the call records see it: 404, or 484 for a
// number too short to be one; never a 5xx, whoever dials it (a trunk, or
// an authenticated phone).
func TestDialledGarbageRefusedBeforeLookup(t *testing.T) {
	var dir *countingBackend
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		dir = &countingBackend{userLookups{Directory: b.Directory}}
		b.Directory = dir
		b.Router = countingRouter{Router: b.Router, n: &dir.n}
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	cases := []struct {
		name, user string
		want       []int
		// asName: a plausible username as well (usernames may be all
		// digits), so a phone's call looks it up, clean, as a user first.
		asName bool
	}{
		// The intake refuses a Request-URI over sip.limits.max_uri_bytes
		// with 414; behind it, the user part's own bound answers 404.
		{"20,000 digits", strings.Repeat("5", 20000), []int{414, 404}, false},
		{"70 digits", strings.Repeat("5", 70), []int{404}, false},
		{"escaped NUL", "+1512555%000110", []int{404}, false},
		{"escaped quote", "+1512555%220110", []int{404}, false},
		{"escaped semicolon", "+1512555%3B0110", []int{404}, false},
		{"escaped CRLF", "alice%0D%0AX-Evil:%201", []int{404}, false},
		// The intake answers 400 to a malformed escape; behind it, 404.
		{"bad escape", "+1512555%G10110", []int{400, 404}, false},
		{"cut escape", "+15125550110%2", []int{400, 404}, false},
		{"letters in a number", "+1512555O110", []int{404}, false},
		{"parameters on a name", "alice;x=1", []int{404}, false},
		{"name too long", strings.Repeat("a", 65), []int{404}, false},
		{"too short", "12", []int{484}, true},
		{"escaped, too short", "%2B1%32", []int{484}, false},
	}
	check := func(who, user string, res string, want []int) {
		t.Helper()
		line := firstLine(res)
		ok := false
		for _, code := range want {
			ok = ok || strings.HasPrefix(line, "SIP/2.0 "+strconv.Itoa(code)+" ")
		}
		if !ok {
			t.Errorf("%s dialling %.40q: %q, want %v", who, user, line, want)
		}
	}
	// The trunk, over TCP (a 20,000-digit Request-URI does not fit every
	// datagram path).
	trunk := newWirePeer(t, gw, "tcp", "127.0.0.2")
	for _, tc := range cases {
		before := dir.n.Load()
		r := wireRequest{method: "INVITE", uri: "sip:" + tc.user + "@" + gw.Addr("tcp"), from: "+17375559999", to: "x",
			ctype: "application/sdp", body: offer}
		check("trunk", tc.name, trunk.do(r, 5*time.Second), tc.want)
		if n := dir.n.Load() - before; n != 0 {
			t.Errorf("trunk dialling %s: %d directory or router calls, want none", tc.name, n)
		}
	}
	// alice's phone, authenticated: her credentials cost one user lookup,
	// the dialled user none.
	phone := newWirePeer(t, gw, "tcp", "127.0.0.1")
	for _, tc := range cases {
		r := wireRequest{method: "INVITE", uri: "sip:" + tc.user + "@" + gw.Addr("tcp"), from: "alice", to: "x",
			ctype: "application/sdp", body: offer}
		challenge := phone.do(r, 5*time.Second)
		if !strings.HasPrefix(challenge, "SIP/2.0 407 ") {
			check("alice", tc.name, challenge, tc.want) // the intake's 414 comes first
			continue
		}
		before := dir.n.Load()
		check("alice", tc.name, phone.do(r, 5*time.Second, answerChallenge(t, challenge, r, "alice", "alice-pw-1")), tc.want)
		want := int32(1)
		if tc.asName {
			want = 2
		}
		if n := dir.n.Load() - before; n != want {
			t.Errorf("alice dialling %s: %d directory or router calls, want %d (her own lookup, and the name's if it can be one)", tc.name, n, want)
		}
	}
	if rs, err := gw.store.ListCallRecords(context.Background(), billing.CallFilter{Limit: 100}); err != nil || len(rs) != 0 {
		t.Errorf("call records of refused INVITEs: %d (%v), want none", len(rs), err)
	}
	if logs := gw.logs.String(); strings.Contains(logs, "database") || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("a refused user part reached the database or logged an error:\n%s", logs)
	}
	if alice.invites.Load() != 0 {
		t.Error("a refused call rang alice")
	}
}

// The caller's user part is cleaned the same way: an escaped number is
// the number, and one that is neither a number nor a name is anonymous,
// never a reason to fail the call.
func TestCallerCleaned(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	for _, tc := range []struct{ from, want string }{
		{"%2B1737555%30001", "+17375550001"},
		{"%00evil", ""},
		{strings.Repeat("9", 300), ""},
	} {
		sess, err := trunk.call(gw, "+15125550110", tc.from, nil)
		if err != nil {
			t.Fatalf("call from %.20q: %v", tc.from, err)
		}
		hangup(t, sess)
		if r := closedRecord(t, gw); r.From != tc.want || r.Result != billing.ResultAnswered {
			t.Errorf("call from %.20q: record from %q result %s, want %q answered", tc.from, r.From, r.Result, tc.want)
		}
	}
}

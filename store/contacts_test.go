package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

// t0 is a registration time with nanoseconds and a zone, to see the store
// keep UTC microseconds.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))

func contact(t testing.TB, s *store.Store, username, uri, node string, expires time.Time) directory.Contact {
	t.Helper()
	c := directory.Contact{Username: username, URI: uri, Source: "udp:203.0.113.5:5062",
		Instance: "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>", CallID: "reg-" + uri, CSeq: 1,
		UserAgent: "Zoiper 5", Node: node, Expires: expires}
	must(t, s.PutContact(ctx, &c))
	return c
}

func TestContacts(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		exp := t0.Add(time.Hour)
		a1 := contact(t, s, "alice", "sip:alice@192.0.2.7:5062;transport=udp", "gw1", exp)
		if a1.ID == 0 || !a1.Expires.Equal(exp.Truncate(time.Microsecond)) || a1.Expires.Location() != time.UTC ||
			a1.Expires.Nanosecond() != 123456000 || a1.UpdatedAt.IsZero() {
			t.Fatalf("PutContact set %+v", a1)
		}
		a2 := contact(t, s, "alice", "sip:alice@198.51.100.9:5060", "gw2", t0.Add(2*time.Hour))
		b1 := contact(t, s, "bob", "sip:bob@192.0.2.8", "gw1", t0.Add(time.Minute))

		same(t, "alice's", get(s.ListContacts(ctx, "alice", t0))(t), []directory.Contact{a1, a2})
		same(t, "gw1's", get(s.ListNodeContacts(ctx, "gw1", t0))(t), []directory.Contact{a1, b1})
		same(t, "ghost's", get(s.ListContacts(ctx, "ghost", t0))(t), []directory.Contact{})
		same(t, "count", get(s.CountContacts(ctx, t0))(t), int64(3))

		// A refresh replaces the binding in place: same ID, new values.
		r := a1
		r.ID, r.Source, r.CSeq, r.CallID, r.Node = 0, "tcp:203.0.113.5:40000", 2, "other", "gw2"
		r.Expires, r.UpdatedAt = t0.Add(3*time.Hour), t0.Add(time.Second)
		must(t, s.PutContact(ctx, &r))
		if r.ID != a1.ID {
			t.Errorf("refresh got ID %d, want %d", r.ID, a1.ID)
		}
		same(t, "refreshed", get(s.ListContacts(ctx, "alice", t0))(t), []directory.Contact{r, a2})
		same(t, "gw1's after the move", get(s.ListNodeContacts(ctx, "gw1", t0))(t), []directory.Contact{b1})

		// The same URI of another user is another binding; URIs are exact.
		b2 := contact(t, s, "bob", r.URI, "gw1", exp)
		b3 := contact(t, s, "bob", strings.ToUpper(r.URI), "gw1", exp)
		b4 := contact(t, s, "bob", r.URI+" ", "gw1", exp)
		same(t, "bob's", get(s.ListContacts(ctx, "bob", t0))(t), []directory.Contact{b1, b2, b3, b4})

		// Expiry: a binding expiring exactly at now is gone.
		at := t0.Add(time.Minute)
		same(t, "unexpired at b1's expiry", get(s.ListContacts(ctx, "bob", at))(t), []directory.Contact{b2, b3, b4})
		same(t, "count at b1's expiry", get(s.CountContacts(ctx, at))(t), int64(5))
		same(t, "expired", get(s.ExpireContacts(ctx, at))(t), int64(1))
		same(t, "expired again", get(s.ExpireContacts(ctx, at))(t), int64(0))
		same(t, "count after expiry", get(s.CountContacts(ctx, t0))(t), int64(5))

		must(t, s.DeleteContact(ctx, "bob", b3.URI))
		must(t, s.DeleteContact(ctx, "bob", b3.URI)) // gone already: fine
		must(t, s.DeleteContact(ctx, "ghost", b3.URI))
		must(t, s.DeleteContact(ctx, "alice", b4.URI)) // bob's URI, not alice's
		same(t, "bob's after delete", get(s.ListContacts(ctx, "bob", t0))(t), []directory.Contact{b2, b4})

		same(t, "delete all of bob's", get(s.DeleteContacts(ctx, "bob"))(t), int64(2))
		same(t, "delete all of bob's again", get(s.DeleteContacts(ctx, "bob"))(t), int64(0))
		same(t, "delete all of a ghost's", get(s.DeleteContacts(ctx, "ghost"))(t), int64(0))
		same(t, "alice's after bob's went", get(s.ListContacts(ctx, "alice", t0))(t), []directory.Contact{r, a2})
	})
}

func TestContactErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		alice := user(t, s, "alice")
		c := directory.Contact{Username: "ghost", URI: "sip:ghost@192.0.2.1", Expires: t0}
		isErr(t, s.PutContact(ctx, &c), directory.ErrNotFound, `"ghost"`)
		// Usernames are exact: MySQL's "=" alone would find "alice".
		c.Username = "alice "
		isErr(t, s.PutContact(ctx, &c), directory.ErrNotFound, `"alice "`)

		// Limits: 1024 bytes of URI, Source and Call-ID; the User-Agent is cut.
		uri := "sip:" + strings.Repeat("a", 1020)
		c = directory.Contact{Username: "alice", URI: uri, Source: "udp:" + strings.Repeat("s", 1020),
			CallID: strings.Repeat("c", 1024), UserAgent: strings.Repeat("ü", 200), Expires: t0}
		must(t, s.PutContact(ctx, &c))
		if len(c.UserAgent) != 254 || c.UserAgent != strings.Repeat("ü", 127) {
			t.Errorf("user agent cut to %d bytes: %q", len(c.UserAgent), c.UserAgent)
		}
		same(t, "long contact", get(s.ListContacts(ctx, "alice", t0.Add(-time.Second)))(t), []directory.Contact{c})
		for _, f := range []struct {
			col string
			set func(*directory.Contact)
		}{
			{"uri", func(c *directory.Contact) { c.URI += "é" }},
			{"source", func(c *directory.Contact) { c.Source += "x" }},
			{"call_id", func(c *directory.Contact) { c.CallID += "x" }},
			{"instance", func(c *directory.Contact) { c.Instance = strings.Repeat("i", 256) }},
			{"node", func(c *directory.Contact) { c.Node = strings.Repeat("n", 256) }},
		} {
			long := c
			f.set(&long)
			isErr(t, s.PutContact(ctx, &long), store.ErrTooLong, f.col)
		}
		// Invalid UTF-8 in the User-Agent does not stop a registration.
		c.UserAgent = "bad \xff\xfe agent"
		must(t, s.PutContact(ctx, &c))
		same(t, "sanitised user agent", c.UserAgent, "bad \uFFFD agent")

		// Bindings go with their user.
		contact(t, s, "alice", "sip:alice@192.0.2.7", "gw1", t0.Add(time.Hour))
		same(t, "count", get(s.CountContacts(ctx, t0.Add(-time.Second)))(t), int64(2))
		must(t, s.DeleteUser(ctx, alice.ID))
		same(t, "count after deleting alice", get(s.CountContacts(ctx, t0.Add(-time.Second)))(t), int64(0))
	})
}

func TestContactMetacharacters(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		exp := t0.Add(time.Hour)
		for _, v := range nasty {
			user(t, s, v)
			c := directory.Contact{Username: v, URI: v, Source: v, Instance: v, CallID: v, CSeq: 4294967295,
				UserAgent: v, Node: v, Expires: exp}
			must(t, s.PutContact(ctx, &c))
			// The same URI a second time is a refresh.
			must(t, s.PutContact(ctx, &c))
			same(t, "by user", get(s.ListContacts(ctx, v, t0))(t), []directory.Contact{c})
			same(t, "by node", get(s.ListNodeContacts(ctx, v, t0))(t), []directory.Contact{c})
		}
		same(t, "count", get(s.CountContacts(ctx, t0))(t), int64(len(nasty)))
		// Wildcards match themselves only.
		must(t, s.DeleteContact(ctx, "%", "%"))
		same(t, "count after deleting %", get(s.CountContacts(ctx, t0))(t), int64(len(nasty)-1))
		same(t, "delete _'s", get(s.DeleteContacts(ctx, "_"))(t), int64(1))
		same(t, "node %", get(s.ListNodeContacts(ctx, "%", t0))(t), []directory.Contact{})
		same(t, "count", get(s.CountContacts(ctx, t0))(t), int64(len(nasty)-2))
	})
}

package sip

import (
	"net/netip"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/icholy/digest"
	"github.com/teamline/teamline/directory"
)

func TestDigestVerify(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	n := newNonces(5*time.Minute, []string{"MD5", "SHA-256"}, func() time.Time { return now })
	known := directory.HA1("alice", "teamline", "s3cret")
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "gw.example"})
	uri := "sip:gw.example"
	answer := func(alg, password, nonce string) *digest.Credentials {
		t.Helper()
		c, err := digest.Digest(&digest.Challenge{Realm: "teamline", Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}},
			digest.Options{Method: "REGISTER", URI: uri, Username: "alice", Password: password, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fresh := n.issue()
	tests := []struct {
		name string
		cred *digest.Credentials
		want authResult
	}{
		{"MD5", answer("MD5", "s3cret", fresh), authOK},
		{"SHA-256", answer("SHA-256", "s3cret", fresh), authOK},
		{"no algorithm means MD5", answer("", "s3cret", fresh), authOK},
		{"wrong password", answer("SHA-256", "guess", fresh), authFailed},
		{"forged nonce", answer("MD5", "s3cret", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), authFailed},
		{"garbage nonce", answer("MD5", "s3cret", "!!"), authFailed},
		{"unsupported algorithm", func() *digest.Credentials {
			c := answer("MD5", "s3cret", fresh)
			c.Algorithm = "SHA-512"
			return c
		}(), authFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := n.verify(req, tt.cred, known); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
	// The same right answer after the nonce lifetime is stale, not failed:
	// the phone retries without asking its user (RFC 7616 3.3).
	old := answer("SHA-256", "s3cret", fresh)
	now = now.Add(6 * time.Minute)
	if got := n.verify(req, old, known); got != authStale {
		t.Errorf("old nonce: verify = %v, want stale", got)
	}
	// Nonces of another process (another key) are not ours.
	other := newNonces(5*time.Minute, []string{"MD5", "SHA-256"}, func() time.Time { return now })
	if got := other.verify(req, answer("MD5", "s3cret", n.issue()), known); got != authFailed {
		t.Errorf("foreign nonce: verify = %v, want failed", got)
	}
}

func TestGuardBlocksAfterRepeatedFailures(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	g := newGuard(3, time.Minute, 15*time.Minute, func() time.Time { return now })
	a := sourceAddrOf("192.0.2.7")
	for i := range 2 {
		if g.fail(a) {
			t.Fatalf("blocked at failure %d of 3", i+1)
		}
	}
	if !g.fail(a) || !g.blocked(a) {
		t.Fatal("not blocked after the third failure")
	}
	if g.blocked(sourceAddrOf("192.0.2.8")) {
		t.Fatal("another address is blocked")
	}
	now = now.Add(16 * time.Minute)
	if g.blocked(a) {
		t.Fatal("still blocked after the block duration")
	}
	// Failures spread wider than the window never block.
	for range 5 {
		now = now.Add(2 * time.Minute)
		if g.fail(a) {
			t.Fatal("blocked by failures outside one window")
		}
	}
}

func sourceAddrOf(s string) netip.Addr { return netip.MustParseAddr(s) }

// The challenges offer the configured algorithms, one header each, in the
// configured order, all with the same nonce.
func TestChallengesFollowConfiguredAlgorithms(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	for _, algs := range [][]string{{"MD5"}, {"SHA-256", "MD5"}, {"SHA-256"}} {
		got := newNonces(time.Minute, algs, now).challenges("teamline", false)
		if len(got) != len(algs) {
			t.Fatalf("%v: %d challenges: %q", algs, len(got), got)
		}
		nonce := ""
		for i, v := range got {
			c, err := digest.ParseChallenge(v)
			if err != nil {
				t.Fatalf("%v: challenge %q: %v", algs, v, err)
			}
			if c.Algorithm != algs[i] || c.Realm != "teamline" {
				t.Errorf("%v: challenge %d = %q, want algorithm %s", algs, i, v, algs[i])
			}
			if i > 0 && c.Nonce != nonce {
				t.Errorf("%v: challenges carry different nonces", algs)
			}
			nonce = c.Nonce
		}
	}
}

// A name without a secret (no such user, or no SIP login) fails like a
// wrong password, whatever it answers, and after the same digest work:
// BenchmarkVerify compares the two.
func TestDigestVerifyWithoutSecret(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	n := newNonces(5*time.Minute, []string{"MD5"}, func() time.Time { return now })
	req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "+15125550100", Host: "gw.example"})
	for _, alg := range []string{"MD5", "SHA-256", ""} {
		c, err := digest.Digest(&digest.Challenge{Realm: "teamline", Nonce: n.issue(), Algorithm: alg, QOP: []string{"auth"}},
			digest.Options{Method: "INVITE", URI: "sip:+15125550100@gw.example", Username: "nobody", Password: "", Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.verify(req, c, directory.SIPCredential{}); got != authFailed {
			t.Errorf("%q: verify without a secret = %v, want failed", alg, got)
		}
		// Even the right answer to the stand-in secret fails: a name
		// without a secret never authenticates.
		ha1 := nobody.HA1MD5
		if alg == "SHA-256" {
			ha1 = nobody.HA1SHA256
		}
		c, err = digest.Digest(&digest.Challenge{Realm: "teamline", Nonce: n.issue(), Algorithm: alg, QOP: []string{"auth"}},
			digest.Options{Method: "INVITE", URI: "sip:+15125550100@gw.example", Username: "nobody", A1: ha1, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.verify(req, c, directory.SIPCredential{}); got != authFailed {
			t.Errorf("%q: the stand-in secret's own answer = %v, want failed", alg, got)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	n := newNonces(5*time.Minute, []string{"MD5"}, func() time.Time { return now })
	req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "gw.example"})
	c, err := digest.Digest(&digest.Challenge{Realm: "teamline", Nonce: n.issue(), Algorithm: "MD5", QOP: []string{"auth"}},
		digest.Options{Method: "REGISTER", URI: "sip:gw.example", Username: "alice", Password: "guess", Count: 1})
	if err != nil {
		b.Fatal(err)
	}
	for name, known := range map[string]directory.SIPCredential{
		"user": directory.HA1("alice", "teamline", "s3cret"), "nobody": {},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if n.verify(req, c, known) != authFailed {
					b.Fatal("not failed")
				}
			}
		})
	}
}

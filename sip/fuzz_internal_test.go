package sip

import (
	"errors"
	"github.com/teamline/teamline/sip/intake"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/directory"
)

// FuzzCheckRequire: the Require header comes from the peer and the tags we
// reject are echoed in Unsupported, so they must be safe header text.
func FuzzCheckRequire(f *testing.F) {
	for _, s := range []string{"100rel", "100rel, timer", " , ,", "a\r\nX: y", "\"quoted\"", strings.Repeat("t,", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		req.AppendHeader(gosip.NewHeader("Require", value))
		err := checkRequire(req)
		var bad *badExtensionError
		if err == nil {
			return
		}
		if !errors.As(err, &bad) {
			t.Fatalf("checkRequire returned %v", err)
		}
		if len(bad.tags) == 0 || len(bad.tags) > maxUnsupported {
			t.Fatalf("%d tags", len(bad.tags))
		}
		for _, tag := range bad.tags {
			if len(tag) > 64 || !intake.IsToken(tag) {
				t.Fatalf("tag %q is not a token", tag)
			}
		}
	})
}

// FuzzWarning: whatever reason Telephony gives, the Warning value is one
// well-formed quoted string.
func FuzzWarning(f *testing.F) {
	for _, s := range []string{"", "no buyer role number", `a "b" \c`, "x\r\nInjected: 1", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		w := warning(text)
		rest, ok := strings.CutPrefix(w, `399 teamline "`)
		if !ok || !strings.HasSuffix(rest, `"`) {
			t.Fatalf("malformed %q", w)
		}
		rest = rest[:len(rest)-1]
		for i := 0; i < len(rest); i++ {
			switch c := rest[i]; {
			case c < 0x20 || c == 0x7f:
				t.Fatalf("control byte %#x in %q", c, w)
			case c == '\\':
				i++ // quoted-pair
				if i == len(rest) {
					t.Fatalf("dangling escape in %q", w)
				}
			case c == '"':
				t.Fatalf("unescaped quote in %q", w)
			}
		}
	})
}

// FuzzParseExpires: Expires values come from phones; any input gives a
// duration within 32 bits of seconds or an error, never a panic.
func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"3600", "0", " 60 ", "-1", "4294967296", "1e3", "", "60;x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseExpires(v)
		if err == nil && (d < 0 || d > 4294967295*time.Second) {
			t.Fatalf("parseExpires(%q) = %v", v, d)
		}
	})
}

// FuzzDigestCredentials: whatever a peer puts in Authorization, parsing
// and checking it never panics and never authenticates without the
// password.
func FuzzDigestCredentials(f *testing.F) {
	for _, s := range []string{
		`Digest username="alice", realm="teamline", nonce="x", uri="sip:gw", response="0123", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"`,
		`Digest username="alice", realm="teamline", nonce="AAAA", uri="sip:gw", response="", algorithm=SHA-256`,
		`Digest realm="teamline"`, `Basic YWxpY2U6cHc=`, `Digest ,,,,`, `Digest username="\"", realm="teamline"`,
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	n := newNonces(time.Minute, []string{"MD5"}, func() time.Time { return now })
	known := directory.HA1("alice", "teamline", "secret")
	f.Fuzz(func(t *testing.T, value string) {
		req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "gw"})
		req.AppendHeader(gosip.NewHeader("Authorization", value))
		cred := digestCredentials(req, "teamline")
		if cred == nil {
			return
		}
		if r := n.verify(req, cred, known); r == authOK || r == authStale {
			t.Fatalf("credentials %q accepted without the password", value)
		}
	})
}

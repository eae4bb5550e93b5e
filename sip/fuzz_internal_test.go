package sip

import (
	"errors"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
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
			if !isToken(tag) {
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

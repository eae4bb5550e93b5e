package sip

import (
	"net/url"
	"strings"
	"unicode/utf8"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/directory"
)

// Dialled users. The user part of a Request-URI (whom a call or text is
// for) and of From (who calls) come from the peer: they are cleaned here,
// once, before routing, the directory or a call record sees them. What is
// neither a possible phone number nor a possible user name is refused
// without any lookup, so no peer input reaches SQL as it came.

// Bounds of a user part.
const (
	// maxRawUser bounds the user part as it came, with its %-escapes,
	// visual separators and telephone-subscriber parameters (RFC 3966
	// ;npdi;rn=..., which carriers add for number portability).
	maxRawUser = 256
	// maxDialled bounds the cleaned value: a username has at most 64
	// characters (directory), an E.164 number at most 15 digits.
	maxDialled = 64
	// minNumberDigits: no number anywhere is shorter (E.164's shortest,
	// country code included, have seven digits). Fewer digits that are no
	// valid number either are an incomplete address (484).
	minNumberDigits = 7
)

// dialled is a cleaned user part: a number (digits with an optional
// leading +, separators removed) or a user name (lower case).
type dialled struct {
	value  string
	number bool
}

// short reports whether d is a number with fewer digits than any number
// has.
func (d dialled) short() bool {
	return d.number && len(strings.TrimPrefix(d.value, "+")) < minNumberDigits
}

// notDiallable answers a user part that is no number and no user name
// (RFC 3261 21.4.4: such a user does not exist here). The Warning says
// what is wrong with it, in fixed words: the input is never echoed.
func notDiallable(why string) error {
	return &reply{code: 404, reason: "Not Found", why: why,
		headers: []gosip.Header{gosip.NewHeader("Warning", warning("dialled user "+why))}}
}

// errIncomplete answers a number too short to be one (RFC 3261 21.4.19).
var errIncomplete = &reply{code: 484, reason: "Address Incomplete", why: "number too short",
	headers: []gosip.Header{gosip.NewHeader("Warning", warning("dialled number too short"))}}

// dialledOf cleans the user u addresses: the user part of a sip or sips URI,
// the telephone-subscriber of a tel URI (RFC 3966). The error is the answer
// (404) to a user part that is neither a number nor a user name.
func dialledOf(u gosip.Uri) (dialled, error) {
	raw := u.User
	if strings.EqualFold(u.Scheme, "tel") {
		raw = u.Raw()
	}
	return cleanUser(raw)
}

// cleanUser reads a user part:
//
//   - only the characters RFC 3261 25.1 allows in a user part may appear
//     (unreserved, user-unreserved, %-escapes): no control bytes, spaces,
//     quotes or angle brackets;
//   - a ';' starts telephone-subscriber parameters (RFC 3261 19.1.6, RFC 3966
//     5.1), which are dropped; only a number may have them;
//   - %-escapes are undone (RFC 3261 19.1.4: sip:%2B1512555%30100@gw is
//     +15125550100); an escaped ';' or a control byte is refused;
//   - a number keeps its digits and leading '+' and loses its visual
//     separators '-', '.', '(' and ')' (RFC 3966 5.1.1);
//   - anything else must be a possible username (directory.ValidUsername,
//     in any case: a letter or digit, then letters, digits, '.', '_', '-',
//     at most 64) and is lowered.
func cleanUser(raw string) (dialled, error) {
	switch {
	case raw == "":
		return dialled{}, notDiallable("missing")
	case len(raw) > maxRawUser:
		return dialled{}, notDiallable("too long")
	}
	for i := 0; i < len(raw); i++ {
		if !userChar(raw[i]) {
			return dialled{}, notDiallable("has a character a user part may not have")
		}
	}
	base, _, hasParams := strings.Cut(raw, ";")
	// RFC 3261 25.1 escapes are URI %HH escapes: a '%' without two hex
	// digits after it is malformed. ('+' stays '+': this is no query.)
	v, err := url.PathUnescape(base)
	switch {
	case err != nil:
		return dialled{}, notDiallable("has a bad %-escape")
	case v == "":
		return dialled{}, notDiallable("missing")
	case len(v) > maxDialled:
		return dialled{}, notDiallable("too long")
	}
	if n, ok := phoneDigits(v); ok {
		return dialled{value: n, number: true}, nil
	}
	if hasParams || !plausibleUsername(v) {
		return dialled{}, notDiallable("is neither a phone number nor a user name")
	}
	return dialled{value: strings.ToLower(v)}, nil
}

// userChar reports whether c may appear in a user part as sent (RFC 3261
// 25.1: user = 1*( unreserved / escaped / user-unreserved )).
func userChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()%&=+$,;?/", c) >= 0
}

// phoneDigits returns v without visual separators if v is a phone number:
// an optional leading '+', then digits and separators, at least one digit.
func phoneDigits(v string) (string, bool) {
	var b strings.Builder
	b.Grow(len(v))
	digits := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			digits++
		case c == '+' && i == 0:
			b.WriteByte(c)
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	return b.String(), digits > 0
}

// plausibleUsername reports whether s could be a directory username in any
// ASCII case (directory.ValidUsername): only such names are looked up.
// Other letters do not fold into the rule's ("\u212a", the Kelvin sign,
// lowers to 'k').
func plausibleUsername(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return directory.ValidUsername(strings.ToLower(s))
}

// callerOf cleans the From user of req as the caller's number or name; a
// user part that is neither counts as anonymous ("").
func callerOf(req *gosip.Request) (user, display string) {
	f := req.From()
	if f == nil {
		return "", ""
	}
	if d, err := dialledOf(f.Address); err == nil {
		user = d.value
	}
	return user, f.DisplayName
}

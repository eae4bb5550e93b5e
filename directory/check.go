package directory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on free-text fields: generous for people, small enough that a
// runaway client cannot fill the database through one field.
const (
	maxName  = 200
	maxText  = 200
	maxTags  = 50
	maxTag   = 64
	maxValue = 100
	maxLabel = 100
)

var (
	reUsername = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	reRoleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	reHHMM     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
	reTrunk    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	reHex32    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reHex64    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// Branded caller ID: at most 15 letters, digits, commas, periods, spaces (R-OUT-4).
	reCallerName = regexp.MustCompile(`^[A-Za-z0-9,. ]{1,15}$`)
)

// ValidUsername reports whether s is a well-formed username: 1-64
// lower-case letters, digits, '.', '_' or '-', starting with a letter or
// digit. The SIP gateway checks names from the network against it before
// looking them up.
func ValidUsername(s string) bool { return reUsername.MatchString(s) }

// text checks a free-text field: valid UTF-8, no control characters, at
// most max characters.
func (v *ValidationError) text(field, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		v.add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		v.add(field, "is longer than %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.add(field, "contains control characters")
	}
}

// required checks a non-empty free-text field.
func (v *ValidationError) required(field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		v.add(field, "is required")
		return
	}
	v.text(field, s, max)
}

// cleanList trims values, drops empty ones and duplicates, keeping order.
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// canonicalRole maps a role name to its canonical form ("listing" is the
// seller role, R-NUM-2).
func canonicalRole(r string) string {
	r = strings.ToLower(strings.TrimSpace(r))
	if r == "listing" {
		return "seller"
	}
	return r
}

// roleKnown checks a role name against the account's roles.
func (v *ValidationError) roleKnown(field, role string, st Settings) {
	if !slices.Contains(st.Roles, role) {
		v.add(field, "unknown role %q (roles: %s)", role, strings.Join(st.Roles, ", "))
	}
}

// phone normalises *p in place or records why it cannot.
func (v *ValidationError) phone(field string, ph *Phones, p *string) {
	e, err := ph.Normalize(*p)
	if err != nil {
		v.add(field, "%s", strings.TrimPrefix(err.Error(), ErrBadPhone.Error()+": "))
		return
	}
	*p = e
}

func fieldf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

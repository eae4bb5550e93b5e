package sip

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

func TestCleanUser(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		number bool
		code   int // the answer to a refused one
	}{
		{"+15125550100", "+15125550100", true, 0},
		{"%2B1512555%30100", "+15125550100", true, 0},
		{"+1-512-555-0100", "+15125550100", true, 0},
		{"(512) 555-0100", "", false, 404}, // a space is no user character
		{"(512)555.0100", "5125550100", true, 0},
		{"+15125550100;npdi;rn=+15125559999", "+15125550100", true, 0},
		{"5125550100;phone-context=+1", "5125550100", true, 0},
		{"101", "101", true, 0},
		{"Alice", "alice", false, 0},
		{"john.doe_2-x", "john.doe_2-x", false, 0},
		{"anonymous", "anonymous", false, 0},
		{"", "", false, 404},
		{"%", "", false, 404},
		{"%4", "", false, 404},
		{"%zz", "", false, 404},
		{"alice%00", "", false, 404},
		{"+1512%3B5550100", "", false, 404},
		{"alice;x=1", "", false, 404},
		{".alice", "", false, 404},
		{"ali\"ce", "", false, 404},
		{"ali ce", "", false, 404},
		{"al\x00ice", "", false, 404},
		{"+", "", false, 404},
		{"1+2", "", false, 404},
		{"()", "", false, 404},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), false, 0},
		{strings.Repeat("a", 65), "", false, 404},
		{strings.Repeat("5", 20000), "", false, 404},
		{"ümlaut", "", false, 404},
		{"%C3%BCmlaut", "", false, 404},
		{"%E2%84%AAate", "", false, 404}, // the Kelvin sign lowers to 'k', but is no letter of a username
		{"ALICE.Doe", "alice.doe", false, 0},
	}
	for _, tt := range tests {
		d, err := cleanUser(tt.raw)
		if tt.code != 0 {
			if code, _ := statusFor(err); code != tt.code {
				t.Errorf("cleanUser(%.30q) = %+v, %v; want %d", tt.raw, d, err, tt.code)
			}
			continue
		}
		if err != nil || d.value != tt.want || d.number != tt.number {
			t.Errorf("cleanUser(%.30q) = %+v, %v; want %q (number %v)", tt.raw, d, err, tt.want, tt.number)
		}
	}
}

func TestDialledShortAndTel(t *testing.T) {
	for raw, short := range map[string]bool{"12": true, "+1234": true, "123456": true, "1234567": false, "alice": false} {
		if d, err := cleanUser(raw); err != nil || d.short() != short {
			t.Errorf("%q: short = %v (%v), want %v", raw, d.short(), err, short)
		}
	}
	var u gosip.Uri
	if err := gosip.ParseUri("tel:+1-512-555-0100;phone-context=example.com", &u); err != nil {
		t.Fatal(err)
	}
	if d, err := dialledOf(u); err != nil || d.value != "+15125550100" {
		t.Errorf("tel URI: %+v %v", d, err)
	}
}

// FuzzCleanUser: whatever a peer writes as a user part, the result is a
// clean number or username, short enough for every column, or a 404.
func FuzzCleanUser(f *testing.F) {
	for _, s := range []string{"+15125550100", "%2B1512555%30100", "(512)555.0100", "alice", "a%00b", "%", "+1;npdi", "%3B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := cleanUser(raw)
		if err != nil {
			if code, _ := statusFor(err); code != 404 {
				t.Fatalf("refused with %d", code)
			}
			return
		}
		if len(d.value) == 0 || len(d.value) > maxDialled {
			t.Fatalf("%q: %d bytes", d.value, len(d.value))
		}
		if d.number {
			if _, ok := phoneDigits(d.value); !ok || strings.ContainsAny(d.value, "-.()") {
				t.Fatalf("number %q not clean", d.value)
			}
			return
		}
		if !plausibleUsername(d.value) || d.value != strings.ToLower(d.value) {
			t.Fatalf("name %q not clean", d.value)
		}
	})
}

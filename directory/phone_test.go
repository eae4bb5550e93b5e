package directory

import (
	"errors"
	"testing"
)

func TestPhonesNormalize(t *testing.T) {
	p, err := NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"(202) 555-0123", "+12025550123"},
		{"+1 202 555 0123", "+12025550123"},
		{"12025550123", "+12025550123"},
		{"202.555.0123", "+12025550123"},
		{"  +44 20 7946 0958 ", "+442079460958"},
		{"+1-512-555-0199", "+15125550199"},
		{"(555) 010-0123", "+15550100123"},
		{"+1 555 010 0123", "+15550100123"},
		{"15550100123", "+15550100123"},
	}
	for _, c := range cases {
		got, err := p.Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "123", "abc", "+1 000 000 0000", "+1 123 456 7890", "+1 555 010 01234", "555-0123", "+999 1234", "1'; DROP TABLE leads; --"} {
		if got, err := p.Normalize(bad); !errors.Is(err, ErrBadPhone) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrBadPhone", bad, got, err)
		}
	}
}

func TestPhonesRegion(t *testing.T) {
	if _, err := NewPhones("XX"); err == nil {
		t.Fatal("NewPhones(XX) accepted an unknown region")
	}
	gb, err := NewPhones("gb")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := gb.Normalize("020 7946 0958"); err != nil || got != "+442079460958" {
		t.Fatalf("GB national number = %q, %v", got, err)
	}
	us, _ := NewPhones("US")
	for number, want := range map[string]bool{
		"+442079460958": true,  // London
		"+12025550123":  false, // Washington
		"+14165550123":  false, // Toronto: NANP, dialled as domestic
		"+17875550123":  false, // Puerto Rico
		"+18765550123":  true,  // Jamaica: +1, but international (and a toll-fraud route)
		"+18095550123":  true,  // Dominican Republic
		"+15550100123":  false, // fictional 555: no region, +1
	} {
		if got := us.IsInternational(number); got != want {
			t.Errorf("US IsInternational(%s) = %v, want %v", number, got, want)
		}
	}
	if !gb.IsInternational("+12025550123") || gb.IsInternational("+442079460958") {
		t.Error("GB IsInternational wrong")
	}
}

func FuzzPhonesNormalize(f *testing.F) {
	for _, s := range []string{"(202) 555-0123", "+1 202 555 0123", "12025550123", "+442079460958", "", "+", "1e10", "٣٣٣"} {
		f.Add(s)
	}
	p, err := NewPhones("US")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := p.Normalize(s)
		if err != nil {
			return
		}
		// A normalised number is a fixed point and looks like E.164.
		again, err := p.Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", s, got, got, again, err)
		}
		if len(got) < 3 || len(got) > 16 || got[0] != '+' {
			t.Fatalf("Normalize(%q) = %q: not E.164", s, got)
		}
	})
}

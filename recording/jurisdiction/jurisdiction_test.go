package jurisdiction

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/teamline/teamline/config"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		e164 string
		want Place
		ok   bool
	}{
		{"+12125550123", Place{"212", "NY", "US"}, true},
		{"+19175550123", Place{"917", "NY", "US"}, true},
		{"+14155550123", Place{"415", "CA", "US"}, true},
		{"+13105550123", Place{"310", "CA", "US"}, true},
		{"+19495550123", Place{"949", "CA", "US"}, true},
		{"+15125550123", Place{"512", "TX", "US"}, true},
		{"+13055550123", Place{"305", "FL", "US"}, true},
		{"+12065550123", Place{"206", "WA", "US"}, true},
		{"+16175550123", Place{"617", "MA", "US"}, true},
		{"+13125550123", Place{"312", "IL", "US"}, true},
		{"+12025550123", Place{"202", "DC", "US"}, true},
		{"+19075550123", Place{"907", "AK", "US"}, true},
		{"+18085550123", Place{"808", "HI", "US"}, true},
		{"+14065550123", Place{"406", "MT", "US"}, true},
		{"+15035550123", Place{"503", "OR", "US"}, true},
		{"+17865550123", Place{"786", "FL", "US"}, true},
		{"+14165550123", Place{"416", "ON", "CA"}, true},
		{"+15145550123", Place{"514", "QC", "CA"}, true},
		{"+16045550123", Place{"604", "BC", "CA"}, true},
		{"+14035550123", Place{"403", "AB", "CA"}, true},
		{"+19025550123", Place{"902", "NS/PE", "CA"}, true},
		{"+18675550123", Place{"867", "YT/NT/NU", "CA"}, true},
		{"+17875550123", Place{"787", "PR", "US"}, true},
		{"+16715550123", Place{"671", "GU", "US"}, true},
		{"+18765550123", Place{"876", "JM", "JM"}, true},
		{"+18095550123", Place{"809", "DO", "DO"}, true},
		// Non-geographic codes.
		{"+18005550123", Place{}, false},
		{"+18885550123", Place{}, false},
		{"+18335550123", Place{}, false},
		{"+19005550123", Place{}, false},
		{"+15005550123", Place{}, false},
		{"+15335550123", Place{}, false},
		{"+17005550123", Place{}, false},
		{"+16005550123", Place{}, false},
		// Left out: their ISO codes are US state codes.
		{"+13455550123", Place{}, false},
		{"+16645550123", Place{}, false},
		// Not NANP numbers, or not E.164.
		{"+442079460123", Place{}, false},
		{"+33123456789", Place{}, false},
		{"+4930123456", Place{}, false},
		{"12125550123", Place{}, false},
		{"2125550123", Place{}, false},
		{"+1212555012", Place{}, false},
		{"+121255501234", Place{}, false},
		{"+1 212 555 0123", Place{}, false},
		{"+1212555012a", Place{}, false},
		{"+11125550123", Place{}, false},
		{"+12120550123", Place{}, false}, // exchange code starts with 0
		{"+12121550123", Place{}, false}, // and 1
		{"+19115550123", Place{}, false},
		{"sip:+12125550123@example.com", Place{}, false},
		{"+1２１２5550123", Place{}, false},
		{"anonymous", Place{}, false},
		{"911", Place{}, false},
		{"+", Place{}, false},
		{"", Place{}, false},
	}
	tab := Default()
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.e164)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.e164, got, ok, tt.want, tt.ok)
		}
	}
	var nilTable *Table
	if p, ok := nilTable.Lookup("+12125550123"); ok {
		t.Errorf("nil table: Lookup = %+v, true", p)
	}
}

func TestDefaultTable(t *testing.T) {
	tab := Default()
	if Default() != tab {
		t.Error("Default() parsed the table twice")
	}
	perCountry := map[string]int{}
	regions := map[string]bool{}
	for _, p := range tab.places {
		perCountry[p.Country]++
		for r := range p.regions() {
			regions[r] = true
		}
	}
	if perCountry["US"] < 300 {
		t.Errorf("%d US area codes, want at least 300", perCountry["US"])
	}
	if perCountry["CA"] < 40 {
		t.Errorf("%d Canadian area codes, want at least 40", perCountry["CA"])
	}
	states := "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
	provinces := "ON QC BC AB MB SK NS NB NL PE YT NT NU"
	for _, r := range strings.Fields(states + " " + provinces + " PR GU VI AS MP") {
		if !regions[r] {
			t.Errorf("region %s has no area code", r)
		}
	}
	if n := len(strings.Fields(states)); n != 51 {
		t.Fatalf("test lists %d states, want 50 + DC", n)
	}
	for _, code := range strings.Fields("500 521 522 529 532 533 544 566 577 588 600 622 633 700 710 800 833 844 855 866 877 888 900 211 311 411 511 611 711 811 911") {
		if p, ok := tab.places[code]; ok {
			t.Errorf("non-geographic code %s is in the table as %+v", code, p)
		}
	}
}

// TestEmbeddedNoDuplicates counts the data lines of nanp.csv itself, so a
// duplicate that Load let through (overwriting the first) would show.
func TestEmbeddedNoDuplicates(t *testing.T) {
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(nanpCSV))
	n := 0
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") || s == header {
			continue
		}
		code, _, _ := strings.Cut(s, ",")
		if prev, dup := seen[code]; dup {
			t.Errorf("nanp.csv: area code %s on lines %d and %d", code, prev, line)
		}
		seen[code] = line
		n++
	}
	if got := Default().Len(); got != n {
		t.Errorf("Default().Len() = %d, nanp.csv has %d data lines", got, n)
	}
}

func TestDefaultTwoPartyInTable(t *testing.T) {
	tab := Default()
	for _, r := range config.DefaultTwoPartyRegions {
		if tab.regions[r] != "US" {
			t.Errorf("config.DefaultTwoPartyRegions region %s: country %q in the table, want US", r, tab.regions[r])
		}
	}
	if _, err := NewPolicy(nil, config.DefaultTwoPartyRegions); err != nil {
		t.Fatal(err)
	}
}

func TestNeedsConsent(t *testing.T) {
	tests := []struct {
		name    string
		regions []string
		e164    string
		want    bool
		reason  string
	}{
		{"California", config.DefaultTwoPartyRegions, "+14155550123", true, "two-party:CA"},
		{"Florida overlay", config.DefaultTwoPartyRegions, "+16455550123", true, "two-party:FL"},
		{"Washington", config.DefaultTwoPartyRegions, "+12065550123", true, "two-party:WA"},
		{"Pennsylvania", config.DefaultTwoPartyRegions, "+12155550123", true, "two-party:PA"},
		{"Texas", config.DefaultTwoPartyRegions, "+15125550123", false, "one-party:TX"},
		{"New York", config.DefaultTwoPartyRegions, "+12125550123", false, "one-party:NY"},
		{"Oregon by phone", config.DefaultTwoPartyRegions, "+15035550123", false, "one-party:OR"},
		{"Ontario", config.DefaultTwoPartyRegions, "+14165550123", false, "one-party:ON"},
		{"Nova Scotia", config.DefaultTwoPartyRegions, "+19025550123", false, "one-party:NS/PE"},
		{"Puerto Rico", config.DefaultTwoPartyRegions, "+17875550123", false, "one-party:PR"},
		{"Jamaica", config.DefaultTwoPartyRegions, "+18765550123", false, "one-party:JM"},
		{"toll free caller ID", config.DefaultTwoPartyRegions, "+18005550123", true, "unknown"},
		{"United Kingdom", config.DefaultTwoPartyRegions, "+442079460123", true, "unknown"},
		{"withheld", config.DefaultTwoPartyRegions, "anonymous", true, "unknown"},
		{"empty", config.DefaultTwoPartyRegions, "", true, "unknown"},
		{"Cayman Islands", config.DefaultTwoPartyRegions, "+13455550123", true, "unknown"},
		{"own list, lower case", []string{" tx", "ny "}, "+15125550123", true, "two-party:TX"},
		{"own list, California not in it", []string{"TX", "NY"}, "+14155550123", false, "one-party:CA"},
		{"shared area code, second region listed", []string{"PE"}, "+19025550123", true, "two-party:PE"},
		{"shared area code, third region listed", []string{"NU"}, "+18675550123", true, "two-party:NU"},
		{"empty list", nil, "+14155550123", false, "one-party:CA"},
		{"empty list, unknown still plays", nil, "anonymous", true, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(nil, tt.regions)
			if err != nil {
				t.Fatal(err)
			}
			got, reason := p.NeedsConsent(tt.e164)
			if got != tt.want || reason != tt.reason {
				t.Errorf("NeedsConsent(%q) = %v, %q; want %v, %q", tt.e164, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestNewPolicyErrors(t *testing.T) {
	tests := []struct {
		regions []string
		want    string
	}{
		{[]string{"CA", "CAL"}, `unknown region "CAL"`},
		{[]string{"ZZ", "WA", "Q"}, `unknown region "ZZ", "Q"`},
		{[]string{""}, `unknown region ""`},
		{[]string{"US"}, `unknown region "US"`},
		{[]string{"NS/PE"}, `unknown region "NS/PE"`},
	}
	for _, tt := range tests {
		p, err := NewPolicy(nil, tt.regions)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewPolicy(%q) = %v, %v; want an error containing %s", tt.regions, p, err, tt.want)
		}
	}
	small, err := Load(strings.NewReader("area_code,region,country\n212,NY,US\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPolicy(small, []string{"CA"}); err == nil {
		t.Error(`NewPolicy(table without CA, ["CA"]) succeeded`)
	}
}

func TestLoad(t *testing.T) {
	const in = "\ufeff# an operator's table\n" +
		"\n" +
		"Area_Code, Region, Country\n" +
		"# comment between rows\n" +
		"212, ny, us\n" +
		"  902 ,ns/pe,ca\n" +
		"876,JM,JM\n"
	tab, err := Load(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		e164 string
		want Place
		ok   bool
	}{
		{"+12125550123", Place{"212", "NY", "US"}, true},
		{"+19025550123", Place{"902", "NS/PE", "CA"}, true},
		{"+18765550123", Place{"876", "JM", "JM"}, true},
		{"+14155550123", Place{}, false}, // not in this table
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.e164)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tt.e164, got, ok, tt.want, tt.ok)
		}
	}
	if tab.Len() != 3 {
		t.Errorf("Len() = %d, want 3", tab.Len())
	}
	p, err := NewPolicy(tab, []string{"pe"})
	if err != nil {
		t.Fatal(err)
	}
	if got, reason := p.NeedsConsent("+19025550123"); !got || reason != "two-party:PE" {
		t.Errorf("NeedsConsent(902) = %v, %q; want true, two-party:PE", got, reason)
	}
}

func TestLoadErrors(t *testing.T) {
	const h = "area_code,region,country\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no header line"},
		{"only comments", "# nothing\n", "no header line"},
		{"header only", h, "no area codes"},
		{"no header", "212,NY,US\n", `line 1: header is "212,NY,US"`},
		{"wrong header", "# x\ncode,region,country\n", `line 2: header is "code,region,country"`},
		{"two fields", h + "212,NY\n", "line 2: 2 fields, want 3"},
		{"four fields", h + "212,NY,US\n213,CA,US,x\n", "line 3: 4 fields, want 3"},
		{"short code", h + "21,NY,US\n", `line 2: area code "21"`},
		{"letter in code", h + "2a2,NY,US\n", `line 2: area code "2a2"`},
		{"code starting with 1", h + "112,NY,US\n", `line 2: area code "112"`},
		{"code starting with 0", h + "012,NY,US\n", `line 2: area code "012"`},
		{"N11", h + "911,NY,US\n", "line 2: area code 911 is an N11 service code"},
		{"empty region", h + "212,,US\n", `line 2: region ""`},
		{"long region", h + "212,NYC,US\n", `line 2: region "NYC"`},
		{"trailing slash", h + "902,NS/,CA\n", `line 2: region "NS/"`},
		{"region twice", h + "902,NS/NS,CA\n", `line 2: region "NS/NS"`},
		{"digit region", h + "212,N1,US\n", `line 2: region "N1"`},
		{"long country", h + "212,NY,USA\n", `line 2: country "USA"`},
		{"duplicate", h + "212,NY,US\n\n# c\n212,NJ,US\n", "line 5: area code 212 already on line 2"},
		{"region in two countries", h + "502,KY,US\n345,KY,KY\n", "line 3: region KY is in country US on line 2, here in KY"},
		{"bad quote", h + "212,\"NY,US\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Load(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, %v; want an error containing %q", tab, err, tt.want)
			}
		})
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"+12125550123", "+18005550123", "+442079460123", "anonymous", "", "+1", "+1212555012\xff", "+19025550123"} {
		f.Add(s)
	}
	tab := Default()
	pol, err := NewPolicy(tab, config.DefaultTwoPartyRegions)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := tab.Lookup(s)
		if ok && (len(s) != 12 || s[:2] != "+1" || p.AreaCode != s[2:5] || p.Region == "" || p.Country == "") {
			t.Fatalf("Lookup(%q) = %+v, true", s, p)
		}
		need, reason := pol.NeedsConsent(s)
		if !ok && (!need || reason != "unknown") {
			t.Fatalf("NeedsConsent(%q) = %v, %q for a number Lookup does not know", s, need, reason)
		}
		if ok && reason == "unknown" {
			t.Fatalf("NeedsConsent(%q) = unknown for %+v", s, p)
		}
	})
}

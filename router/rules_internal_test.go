package router

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
)

func i64(v int64) *int64 { return &v }

// TestMismatch covers every criterion type of R-RULE-3: values of one type
// are OR, types are AND.
func TestMismatch(t *testing.T) {
	lead := directory.Lead{
		Source: "Zillow", Tags: []string{"hot", "vip"}, Type: directory.LeadBuyer, PriceMin: 300000, PriceMax: 450000,
		City: "Austin", County: "Travis", Neighborhood: "Hyde Park", PostalCode: "78751", Region: "Central",
		PropertyType: "condo", Site: "teamsite.example",
	}
	tests := []struct {
		name string
		c    directory.Criteria
		fail string // "" = matches; else a word of the reason
	}{
		{"source matches case-insensitively", directory.Criteria{Sources: []string{"zillow"}}, ""},
		{"source OR", directory.Criteria{Sources: []string{"Redfin", "Zillow"}}, ""},
		{"source fails", directory.Criteria{Sources: []string{"Redfin"}}, "source"},
		{"one tag of several", directory.Criteria{Tags: []string{"cold", "VIP"}}, ""},
		{"no tag", directory.Criteria{Tags: []string{"cold"}}, "tag"},
		{"city", directory.Criteria{Cities: []string{"Dallas", "Austin"}}, ""},
		{"city fails", directory.Criteria{Cities: []string{"Dallas"}}, "city"},
		{"county", directory.Criteria{Counties: []string{"Travis"}}, ""},
		{"county fails", directory.Criteria{Counties: []string{"Bexar"}}, "county"},
		{"neighborhood", directory.Criteria{Neighborhoods: []string{"hyde park"}}, ""},
		{"neighborhood fails", directory.Criteria{Neighborhoods: []string{"Zilker"}}, "neighborhood"},
		{"postal code", directory.Criteria{PostalCodes: []string{"78751"}}, ""},
		{"postal code fails", directory.Criteria{PostalCodes: []string{"78704"}}, "postal_code"},
		{"region", directory.Criteria{Regions: []string{"central"}}, ""},
		{"region fails", directory.Criteria{Regions: []string{"North"}}, "region"},
		{"property type", directory.Criteria{PropertyTypes: []string{"Condo"}}, ""},
		{"property type fails", directory.Criteria{PropertyTypes: []string{"land"}}, "property_type"},
		{"site", directory.Criteria{Sites: []string{"teamsite.example"}}, ""},
		{"site fails", directory.Criteria{Sites: []string{"other.example"}}, "site"},
		{"lead type", directory.Criteria{LeadTypes: []directory.LeadType{directory.LeadSeller, directory.LeadBuyer}}, ""},
		{"lead type fails", directory.Criteria{LeadTypes: []directory.LeadType{directory.LeadSeller}}, "lead type"},
		{"price min reached by the lead's maximum", directory.Criteria{PriceMin: i64(400000)}, ""},
		{"price min above the lead's range", directory.Criteria{PriceMin: i64(500000)}, "below"},
		{"price max reached by the lead's minimum", directory.Criteria{PriceMax: i64(350000)}, ""},
		{"price max below the lead's range", directory.Criteria{PriceMax: i64(250000)}, "above"},
		{"price band overlapping", directory.Criteria{PriceMin: i64(400000), PriceMax: i64(600000)}, ""},
		{"AND across types: all hold", directory.Criteria{Sources: []string{"Zillow"}, Cities: []string{"Austin"}, Tags: []string{"hot"}}, ""},
		{"AND across types: one fails", directory.Criteria{Sources: []string{"Zillow"}, Cities: []string{"Dallas"}}, "city"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mismatch(tt.c, &lead)
			if tt.fail == "" && got != "" {
				t.Fatalf("want a match, got %q", got)
			}
			if tt.fail != "" && !strings.Contains(got, tt.fail) {
				t.Fatalf("want a mismatch on %q, got %q", tt.fail, got)
			}
		})
	}

	t.Run("a lead without a price fails price criteria", func(t *testing.T) {
		for _, c := range []directory.Criteria{{PriceMin: i64(1)}, {PriceMax: i64(1_000_000)}} {
			if got := mismatch(c, &directory.Lead{}); got == "" {
				t.Errorf("%s matched a lead without a price", criteriaText(c))
			}
		}
	})
	t.Run("a lead of type both is a buyer and a seller", func(t *testing.T) {
		l := directory.Lead{Type: directory.LeadBoth}
		if got := mismatch(directory.Criteria{LeadTypes: []directory.LeadType{directory.LeadSeller}}, &l); got != "" {
			t.Fatal(got)
		}
	})
	t.Run("an empty lead field fails a criterion of its type", func(t *testing.T) {
		if got := mismatch(directory.Criteria{Cities: []string{"Austin"}}, &directory.Lead{}); !strings.Contains(got, "(none)") {
			t.Fatal(got)
		}
	})
}

func TestInWindow(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	business := directory.Window{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "08:00", End: "21:00"}
	night := directory.Window{Days: []string{"fri"}, Start: "22:00", End: "02:00"}
	tests := []struct {
		name string
		w    directory.Window
		t    time.Time
		want bool
	}{
		{"weekday inside", business, at("2026-11-23 09:00"), true}, // Monday
		{"start is inside", business, at("2026-11-23 08:00"), true},
		{"end is outside", business, at("2026-11-23 21:00"), false},
		{"weekday before", business, at("2026-11-23 07:59"), false},
		{"weekend", business, at("2026-11-22 12:00"), false},                            // Sunday
		{"across midnight, evening of its day", night, at("2026-11-27 23:30"), true},    // Friday
		{"across midnight, morning after its day", night, at("2026-11-28 01:59"), true}, // Saturday
		{"across midnight, ends at 02:00", night, at("2026-11-28 02:00"), false},
		{"across midnight, not on Thursday night", night, at("2026-11-26 23:30"), false},
		{"across midnight, Friday early morning is Thursday's", night, at("2026-11-27 01:00"), false},
		{"to 24:00", directory.Window{Start: "20:00", End: "24:00"}, at("2026-11-23 23:59"), true},
		// 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. 08:30 is
		// local 08:30 (12:30 UTC, not 13:30 as on the day before).
		{"spring forward day, 08:30 local", business2(), at("2026-03-08 08:30"), true},
		{"spring forward day, 07:30 local", business2(), at("2026-03-08 07:30"), false},
		{"spring forward: the first hour after the change", directory.Window{Start: "03:00", End: "04:00"}, at("2026-03-08 03:15"), true},
		// 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST.
		{"fall back day, 20:59 local", business2(), at("2026-11-01 20:59"), true},
		{"fall back day, 21:30 local", business2(), at("2026-11-01 21:30"), false},
		{"fall back: both 01:30s are in 01:00-02:00", directory.Window{Start: "01:00", End: "02:00"}, at("2026-11-01 01:30").Add(time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inWindow(tt.w, tt.t.In(ny))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("%s at %s: got %v, want %v", windowText(tt.w), tt.t.In(ny).Format(time.RFC3339), got, tt.want)
			}
		})
	}
	// The same instant in UTC, evaluated in the account zone, gives the
	// wall-clock answer: 12:30 UTC is 08:30 EDT on spring forward day but
	// 07:30 EST the day before.
	for _, c := range []struct {
		utc  string
		want bool
	}{{"2026-03-08T12:30:00Z", true}, {"2026-03-07T12:30:00Z", false}} {
		tm, _ := time.Parse(time.RFC3339, c.utc)
		if got, _ := inWindow(business2(), tm.In(ny)); got != c.want {
			t.Errorf("%s: got %v", c.utc, got)
		}
	}
}

func business2() directory.Window { return directory.Window{Start: "08:00", End: "21:00"} }

func TestRotationSplit(t *testing.T) {
	agents := []directory.RuleAgent{{User: "ann", LeadsPerRound: 3}, {User: "bob", LeadsPerRound: 2}, {User: "cat", LeadsPerRound: 1}}
	r := newRotation(agents)
	if got := strings.Join(r.slots, " "); got != "ann bob ann cat bob ann" {
		t.Fatalf("round: %s", got)
	}
	counts := map[string]int{}
	for p := range uint64(1000) {
		pick, order := r.at(p)
		counts[pick]++
		if len(order) != 3 || order[0] != pick {
			t.Fatalf("position %d: order %v", p, order)
		}
	}
	// 166 full rounds (996 leads) and the first 4 slots of the next.
	if counts["ann"] != 166*3+2 || counts["bob"] != 166*2+1 || counts["cat"] != 166+1 {
		t.Fatalf("split over 1000 leads: %v", counts)
	}
	if _, order := r.at(2); strings.Join(order, ",") != "ann,cat,bob" {
		t.Fatalf("fallbacks after position 2: %v", order)
	}
	// The round key names the agents and their shares: the same round
	// keeps its key, a changed agent list or share starts a new round.
	if newRotation(agents).key != r.key {
		t.Fatal("the same agents and shares get another round key")
	}
	if newRotation(agents).key == newRotation(agents[:2]).key {
		t.Fatal("a changed agent list keeps the round key")
	}
	reshared := slices.Clone(agents)
	reshared[2].LeadsPerRound = 2
	if newRotation(reshared).key == r.key {
		t.Fatal("a changed share keeps the round key")
	}
}

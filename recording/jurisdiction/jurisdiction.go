// Package jurisdiction decides whether a caller is in a two-party-consent
// jurisdiction for call recording, so that the recording-consent prompt
// (R-REC-3) can be played "only for callers in two-party-consent
// jurisdictions" when the account chose that.
//
// The caller's place comes from the area code of a North American Numbering
// Plan number (+1 NPA NXX XXXX): Table maps geographic area codes to a
// region (US state, Canadian province, ...) and a country, and Default is the
// table shipped in nanp.csv. Policy holds the regions that need the consent
// of every party and answers NeedsConsent for a caller ID.
//
// An area code tells where a number was issued, not where the caller is
// standing, and this package is no legal advice: it encodes the list that
// call-recording products commonly use, and operators can change both the
// table and the list.
package jurisdiction

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

//go:embed nanp.csv
var nanpCSV []byte

// Place is where an area code is issued.
type Place struct {
	AreaCode string // three digits, "212"
	// Region is the two-letter code of the US state, DC or territory
	// (USPS), of the Canadian province or territory, or for other NANP
	// countries the country code itself. An area code that serves several
	// regions lists them separated by "/": "NS/PE", "YT/NT/NU".
	Region  string
	Country string // ISO 3166 alpha-2, "US" also for US territories
}

// regions returns the region codes of p.Region one by one.
func (p Place) regions() func(yield func(string) bool) {
	return strings.SplitSeq(p.Region, "/")
}

// Table maps NANP area codes to places. A Table is read-only after Load and
// safe for concurrent use.
type Table struct {
	places  map[string]Place  // by area code
	regions map[string]string // region code -> country
}

var defaultTable = sync.OnceValue(func() *Table {
	t, err := Load(bytes.NewReader(nanpCSV))
	if err != nil {
		// The embedded file is checked by the tests; this cannot happen
		// in a binary that passed them.
		panic("jurisdiction: embedded nanp.csv: " + err.Error())
	}
	return t
})

// Default returns the table embedded from nanp.csv, parsed on first use.
func Default() *Table { return defaultTable() }

// header is the first line of a table file that is not a comment.
const header = "area_code,region,country"

// Load reads a table in the format of nanp.csv: lines starting with # are
// comments, blank lines are skipped, the first other line is the header
// "area_code,region,country", and each further line has a three-digit area
// code, one or more two-letter region codes separated by "/", and a
// two-letter country code. Letters are upper-cased and spaces around fields
// ignored. An error names the line; an area code listed twice, a region code
// used for two countries and a table without area codes are errors.
func Load(r io.Reader) (*Table, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" { // as spreadsheets save it
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	t := &Table{places: map[string]Place{}, regions: map[string]string{}}
	codeLine := map[string]int{}
	regionLine := map[string]int{}
	sawHeader := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("jurisdiction: %w", err)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if !sawHeader {
			got := strings.Join(rec, ",")
			if !strings.EqualFold(got, header) {
				return nil, fmt.Errorf("jurisdiction: line %d: header is %q, want %q", line, got, header)
			}
			sawHeader = true
			continue
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("jurisdiction: line %d: %d fields, want 3 (%s)", line, len(rec), header)
		}
		p := Place{AreaCode: rec[0], Region: strings.ToUpper(rec[1]), Country: strings.ToUpper(rec[2])}
		if err := checkAreaCode(p.AreaCode); err != nil {
			return nil, fmt.Errorf("jurisdiction: line %d: %w", line, err)
		}
		if !isCode(p.Country) {
			return nil, fmt.Errorf("jurisdiction: line %d: country %q: want a two-letter ISO 3166 code", line, p.Country)
		}
		if prev, dup := codeLine[p.AreaCode]; dup {
			return nil, fmt.Errorf("jurisdiction: line %d: area code %s already on line %d", line, p.AreaCode, prev)
		}
		seen := map[string]bool{}
		for reg := range p.regions() {
			if !isCode(reg) || seen[reg] {
				return nil, fmt.Errorf("jurisdiction: line %d: region %q: want different two-letter codes separated by /", line, p.Region)
			}
			seen[reg] = true
			if c, ok := t.regions[reg]; ok && c != p.Country {
				return nil, fmt.Errorf("jurisdiction: line %d: region %s is in country %s on line %d, here in %s", line, reg, c, regionLine[reg], p.Country)
			}
			if _, ok := t.regions[reg]; !ok {
				t.regions[reg] = p.Country
				regionLine[reg] = line
			}
		}
		codeLine[p.AreaCode] = line
		t.places[p.AreaCode] = p
	}
	if !sawHeader {
		return nil, fmt.Errorf("jurisdiction: no header line %q", header)
	}
	if len(t.places) == 0 {
		return nil, errors.New("jurisdiction: the table has no area codes")
	}
	return t, nil
}

// checkAreaCode accepts a NANP area code: three digits, the first 2-9, and
// not an N11 service code (211 to 911).
func checkAreaCode(s string) error {
	if len(s) != 3 || s[0] < '2' || s[0] > '9' || !isDigit(s[1]) || !isDigit(s[2]) {
		return fmt.Errorf("area code %q: want three digits, the first 2 to 9", s)
	}
	if s[1] == '1' && s[2] == '1' {
		return fmt.Errorf("area code %s is an N11 service code", s)
	}
	return nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isCode reports whether s is two letters A-Z.
func isCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// Len returns the number of area codes in t.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.places)
}

// Lookup returns the place of a caller ID in E.164 form. Only NANP numbers
// are looked up: "+1", a ten-digit national number whose area code and
// exchange code start with 2-9, and nothing else around them; the area code
// must be in t. Anything else (other countries, short codes, SIP URIs,
// "anonymous", "") returns false.
func (t *Table) Lookup(e164 string) (Place, bool) {
	if t == nil || len(e164) != 12 || e164[0] != '+' || e164[1] != '1' {
		return Place{}, false
	}
	for i := 2; i < len(e164); i++ {
		if !isDigit(e164[i]) {
			return Place{}, false
		}
	}
	if e164[5] < '2' { // the exchange code (NXX) starts with 2-9
		return Place{}, false
	}
	p, ok := t.places[e164[2:5]]
	return p, ok
}

// Policy decides whether the consent prompt plays for a caller.
type Policy struct {
	table    *Table
	twoParty map[string]bool
}

// NewPolicy returns the policy that treats the given regions as two-party
// consent (use DefaultTwoParty for the common list) and looks callers up in
// t (Default() if t is nil). Region codes are upper-cased and trimmed; a code
// that no area code of t is in is an error, so a typo in the configuration
// is caught. An empty list makes every known caller one-party.
func NewPolicy(t *Table, regions []string) (*Policy, error) {
	if t == nil {
		t = Default()
	}
	p := &Policy{table: t, twoParty: map[string]bool{}}
	var unknown []string
	for _, r := range regions {
		code := strings.ToUpper(strings.TrimSpace(r))
		if _, ok := t.regions[code]; !ok {
			unknown = append(unknown, fmt.Sprintf("%q", r))
			continue
		}
		p.twoParty[code] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("jurisdiction: two-party list: unknown region %s (no area code of the table is in it)", strings.Join(unknown, ", "))
	}
	return p, nil
}

// NeedsConsent reports whether the recording-consent prompt must play for a
// call from the caller ID e164, and a short reason for the call record:
// "two-party:CA" when the caller's region is in the policy's list,
// "one-party:TX" when it is not, and "unknown" (with true) when the number
// is not a NANP number of the table: a foreign, non-geographic, malformed or
// withheld caller ID. Playing the prompt when we cannot tell is the safe
// choice: a needless prompt costs the caller a few seconds, recording a
// two-party caller without it can be unlawful, and a withheld or foreign
// number may well belong to somebody in a two-party state.
func (p *Policy) NeedsConsent(e164 string) (bool, string) {
	place, ok := p.table.Lookup(e164)
	if !ok {
		return true, "unknown"
	}
	// An area code serving several regions needs consent if any of them
	// does (none in the shipped table straddles a two-party border).
	for reg := range place.regions() {
		if p.twoParty[reg] {
			return true, "two-party:" + reg
		}
	}
	return false, "one-party:" + place.Region
}

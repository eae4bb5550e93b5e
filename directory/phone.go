package directory

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// ErrBadPhone is wrapped by every phone-number normalisation error.
var ErrBadPhone = errors.New("bad phone number")

// maxPhoneInput bounds what the parser is given; real numbers with spaces,
// dashes and an extension fit in far less.
const maxPhoneInput = 64

// Phones normalises phone numbers in any common form ("(555) 010-0123",
// "+1 555 010 0123", "15550100123") to E.164, reading numbers without a
// country code in a default region.
type Phones struct {
	region string

	// memo remembers numbers already normalised: the same callers and
	// DIDs come back call after call, and parsing with the metadata is
	// the costliest step of routing a call.
	mu   sync.Mutex
	memo map[string]string
}

// maxPhoneMemo bounds the memo; past it the memo starts over.
const maxPhoneMemo = 100_000

// NewPhones returns a normaliser for the ISO 3166 region (e.g. "US").
func NewPhones(region string) (*Phones, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return nil, fmt.Errorf("unknown phone region %q", region)
	}
	return &Phones{region: region}, nil
}

// Normalize returns the E.164 form of raw, or an error wrapping ErrBadPhone
// that says what is wrong. Only numbers that are valid for their region are
// accepted: a number with too few digits or an unassigned prefix is refused.
func (p *Phones) Normalize(raw string) (string, error) {
	p.mu.Lock()
	e, ok := p.memo[raw]
	p.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := p.normalize(raw)
	if err == nil {
		p.mu.Lock()
		if p.memo == nil || len(p.memo) >= maxPhoneMemo {
			p.memo = make(map[string]string)
		}
		p.memo[raw] = e
		p.mu.Unlock()
	}
	return e, err
}

func (p *Phones) normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrBadPhone)
	}
	if len(s) > maxPhoneInput {
		return "", fmt.Errorf("%w: longer than %d characters", ErrBadPhone, maxPhoneInput)
	}
	region := p.region
	// "15550100123": eleven digits starting with the country code of a
	// NANP region is written without the plus by many CRMs and carriers.
	if !strings.HasPrefix(s, "+") && p.region != "" {
		digits := onlyDigits(s)
		cc := fmt.Sprint(phonenumbers.GetCountryCodeForRegion(p.region))
		if cc == "1" && len(digits) == 11 && strings.HasPrefix(digits, "1") {
			s = "+" + digits
		}
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPhone, raw, err)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if !phonenumbers.IsValidNumber(num) && !nanpShaped(num, e164) {
		return "", fmt.Errorf("%w: %q is not a possible number", ErrBadPhone, raw)
	}
	return e164, nil
}

// nanpShaped accepts North American numbers that have the NANP shape
// NXX-XXX-XXXX (the area code starts with 2-9) even where the
// metadata does not list the area code as assigned: the 555-01XX fictional
// range, new overlays and test DIDs that carriers hand out must still work.
func nanpShaped(num *phonenumbers.PhoneNumber, e164 string) bool {
	if num.GetCountryCode() != 1 || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
		return false
	}
	d := e164[2:] // after "+1"
	return len(d) == 10 && d[0] >= '2'
}

// domesticAlso lists regions dialled and billed as domestic from a region
// besides itself: the US and Canada with the US territories in the North
// American Numbering Plan. The Caribbean NANP countries (+1 876 Jamaica,
// +1 809 Dominican Republic, ...) share the country code but are
// international, and a known toll-fraud destination.
var domesticAlso = map[string][]string{
	"US": {"CA", "PR", "VI", "GU", "AS", "MP"},
	"CA": {"US", "PR", "VI", "GU", "AS", "MP"},
}

// IsInternational reports whether an E.164 number lies outside the default
// region (R-OUT-3). A number whose region cannot be told (a fictional 555
// number) counts as domestic when it has the region's country code.
func (p *Phones) IsInternational(e164 string) bool {
	num, err := phonenumbers.Parse(e164, p.region)
	if err != nil {
		return true
	}
	if num.GetCountryCode() != int32(phonenumbers.GetCountryCodeForRegion(p.region)) {
		return true
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if r == "" || r == "ZZ" || r == p.region {
		return false
	}
	for _, d := range domesticAlso[p.region] {
		if r == d {
			return false
		}
	}
	return true
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

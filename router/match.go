package router

import (
	"fmt"
	"slices"
	"strings"

	"github.com/teamline/teamline/directory"
)

// mismatch tells which criterion of c the lead fails (R-RULE-3), "" when
// it matches. Values of one type are OR, types are AND. Text compares
// case-insensitively after trimming ("Austin" is "austin "). Prices: a
// rule's price_min matches a lead whose range reaches it (the lead's
// maximum, or its minimum when it gave no maximum, is at least price_min);
// price_max matches a lead whose minimum (or maximum) is at most price_max.
// A lead without a price fails a price criterion.
func mismatch(c directory.Criteria, l *directory.Lead) string {
	text := []struct {
		name string
		want []string
		have []string
	}{
		{"source", c.Sources, []string{l.Source}},
		{"tag", c.Tags, l.Tags},
		{"city", c.Cities, []string{l.City}},
		{"county", c.Counties, []string{l.County}},
		{"neighborhood", c.Neighborhoods, []string{l.Neighborhood}},
		{"postal_code", c.PostalCodes, []string{l.PostalCode}},
		{"region", c.Regions, []string{l.Region}},
		{"property_type", c.PropertyTypes, []string{l.PropertyType}},
		{"site", c.Sites, []string{l.Site}},
	}
	for _, t := range text {
		if len(t.want) > 0 && !anyEqualFold(t.want, t.have) {
			return fmt.Sprintf("%s %s is not %s", t.name, quoteOrNone(t.have), strings.Join(t.want, " or "))
		}
	}
	if len(c.LeadTypes) > 0 && !leadTypeMatches(c.LeadTypes, l.Type) {
		ts := make([]string, len(c.LeadTypes))
		for i, t := range c.LeadTypes {
			ts[i] = string(t)
		}
		return fmt.Sprintf("lead type %s is not %s", quoteOrNone([]string{string(l.Type)}), strings.Join(ts, " or "))
	}
	lo, hi := l.PriceMin, l.PriceMax
	if hi == 0 {
		hi = lo
	}
	if lo == 0 {
		lo = hi
	}
	if c.PriceMin != nil && (hi == 0 || hi < *c.PriceMin) {
		return fmt.Sprintf("price %s is below %d", priceText(l), *c.PriceMin)
	}
	if c.PriceMax != nil && (lo == 0 || lo > *c.PriceMax) {
		return fmt.Sprintf("price %s is above %d", priceText(l), *c.PriceMax)
	}
	return ""
}

// leadTypeMatches: a lead of type both is a buyer and a seller.
func leadTypeMatches(want []directory.LeadType, have directory.LeadType) bool {
	for _, w := range want {
		if w == have || have == directory.LeadBoth && (w == directory.LeadBuyer || w == directory.LeadSeller) {
			return true
		}
	}
	return false
}

func anyEqualFold(want, have []string) bool {
	for _, h := range have {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(strings.TrimSpace(w), h) }) {
			return true
		}
	}
	return false
}

func quoteOrNone(vs []string) string {
	var q []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			q = append(q, fmt.Sprintf("%q", v))
		}
	}
	if len(q) == 0 {
		return "(none)"
	}
	return strings.Join(q, ", ")
}

func priceText(l *directory.Lead) string {
	switch {
	case l.PriceMin == 0 && l.PriceMax == 0:
		return "(none)"
	case l.PriceMax == 0 || l.PriceMin == l.PriceMax:
		return fmt.Sprint(max(l.PriceMin, l.PriceMax))
	default:
		return fmt.Sprintf("%d-%d", l.PriceMin, l.PriceMax)
	}
}

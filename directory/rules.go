package directory

import (
	"context"
	"slices"
	"strings"
)

// Bounds of rule fields.
const (
	maxLeadsPerRound   = 100
	minClaimTimeout    = 5
	maxClaimTimeout    = 600
	defaultClaimTimout = 30
)

var (
	weekdays     = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	weekdayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// ListRules returns the rules in evaluation order, the catch-all last.
func (s *Service) ListRules(ctx context.Context) ([]Rule, error) {
	return s.q(ctx).ListRules(ctx)
}

// GetRule returns one rule.
func (s *Service) GetRule(ctx context.Context, id int64) (Rule, error) {
	return s.q(ctx).GetRule(ctx, id)
}

// CreateRule validates and stores a rule. r.Position 0 puts it last before
// the catch-all rule; n puts it at position n (1-based). Managers only.
func (s *Service) CreateRule(ctx context.Context, r Rule) (Rule, error) {
	if err := requireManager(ctx, "add rules"); err != nil {
		return Rule{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		if err := s.checkRule(ctx, q, &r, nil); err != nil {
			return err
		}
		r.CreatedAt = s.stamp()
		r.UpdatedAt = r.CreatedAt
		want := r.Position
		r.Position = 1 << 30 // placed by reorder below
		if err := q.CreateRule(ctx, &r); err != nil {
			return err
		}
		return s.reorder(ctx, q, r.ID, want)
	})
	if err != nil {
		return Rule{}, err
	}
	return s.q(ctx).GetRule(ctx, r.ID)
}

// UpdateRule replaces a rule (by r.ID); a changed Position moves it.
// Managers only.
func (s *Service) UpdateRule(ctx context.Context, r Rule) (Rule, error) {
	if err := requireManager(ctx, "change rules"); err != nil {
		return Rule{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		old, err := q.GetRule(ctx, r.ID)
		if err != nil {
			return err
		}
		if err := unchangedSince(r.UpdatedAt, old.UpdatedAt, "rule", old.Name); err != nil {
			return err
		}
		if err := s.checkRule(ctx, q, &r, &old); err != nil {
			return err
		}
		r.CreatedAt = old.CreatedAt
		r.UpdatedAt = s.stamp()
		want := r.Position
		r.Position = old.Position
		if err := q.UpdateRule(ctx, &r); err != nil {
			return err
		}
		if want != old.Position || r.CatchAll != old.CatchAll {
			// A rule that becomes the catch-all moves last: reorder puts
			// it there.
			return s.reorder(ctx, q, r.ID, want)
		}
		return nil
	})
	if err != nil {
		return Rule{}, err
	}
	return s.q(ctx).GetRule(ctx, r.ID)
}

// DeleteRule removes a rule. Managers only.
func (s *Service) DeleteRule(ctx context.Context, id int64) error {
	if err := requireManager(ctx, "delete rules"); err != nil {
		return err
	}
	return s.tx(ctx, func(q Queries) error {
		if err := q.DeleteRule(ctx, id); err != nil {
			return err
		}
		return s.reorder(ctx, q, 0, 0)
	})
}

// reorder renumbers the rules 1..n in their current order, moving rule id
// to position want (0 = last before the catch-all), catch-all always last
// (R-RULE-1, R-RULE-2).
func (s *Service) reorder(ctx context.Context, q Queries, id int64, want int) error {
	rules, err := q.ListRules(ctx)
	if err != nil {
		return err
	}
	var order []Rule
	var moved, catchAll *Rule
	for i := range rules {
		switch {
		case rules[i].CatchAll:
			catchAll = &rules[i]
		case rules[i].ID == id:
			moved = &rules[i]
		default:
			order = append(order, rules[i])
		}
	}
	if moved != nil {
		at := len(order)
		if want > 0 && want-1 < at {
			at = want - 1
		}
		order = slices.Insert(order, at, *moved)
	}
	if catchAll != nil {
		order = append(order, *catchAll)
	}
	for i := range order {
		if order[i].Position != i+1 {
			order[i].Position = i + 1
			if err := q.UpdateRule(ctx, &order[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRule normalises and validates a rule (R-RULE-2..7).
func (s *Service) checkRule(ctx context.Context, q Queries, r *Rule, old *Rule) error {
	r.Name = strings.TrimSpace(r.Name)
	r.Distribution = Distribution(strings.ToLower(strings.TrimSpace(string(r.Distribution))))
	if r.Distribution == "" {
		r.Distribution = DistAutoAssign
	}
	c := &r.Criteria
	for _, l := range []*[]string{&c.Sources, &c.Tags, &c.Cities, &c.Counties, &c.Neighborhoods, &c.PostalCodes, &c.Regions, &c.PropertyTypes, &c.Sites} {
		*l = cleanList(*l)
	}
	var lt []LeadType
	for _, t := range c.LeadTypes {
		if t = LeadType(strings.ToLower(strings.TrimSpace(string(t)))); t != "" && !slices.Contains(lt, t) {
			lt = append(lt, t)
		}
	}
	c.LeadTypes = lt

	v := &ValidationError{Object: "rule"}
	v.required("name", r.Name, maxValue)
	if r.CatchAll {
		// The catch-all rule is always active and matches every lead.
		r.Active = true
		if !c.empty() {
			v.add("criteria", "the catch-all rule matches every lead and takes no criteria")
		}
		if len(r.Windows) > 0 {
			v.add("windows", "the catch-all rule is always active and takes no windows")
		}
	} else if c.empty() {
		v.add("criteria", "a rule needs at least one criterion")
	}
	checkCriteria(v, c)
	for i := range r.Windows {
		checkWindow(v, fieldf("windows[%d]", i), &r.Windows[i])
	}
	switch r.Distribution {
	case DistClaim:
		if r.ClaimTimeout == 0 {
			r.ClaimTimeout = defaultClaimTimout
		}
		if r.ClaimTimeout < minClaimTimeout || r.ClaimTimeout > maxClaimTimeout {
			v.add("claim_timeout", "must be %d to %d seconds", minClaimTimeout, maxClaimTimeout)
		}
	case DistAutoAssign, DistInstantCall:
		if r.ClaimTimeout != 0 {
			v.add("claim_timeout", "applies only to claim distribution")
		}
	default:
		v.add("distribution", "must be auto_assign, claim or instant_call")
	}
	if len(r.Agents) == 0 {
		v.add("agents", "a rule needs at least one agent")
	}
	if err := checkRuleAgents(ctx, q, v, "agents", r.Agents); err != nil {
		return err
	}
	if err := checkRuleAgents(ctx, q, v, "lenders", r.Lenders); err != nil {
		return err
	}
	if err := v.err(); err != nil {
		return err
	}

	rules, err := q.ListRules(ctx)
	if err != nil {
		return err
	}
	for _, other := range rules {
		if old != nil && other.ID == old.ID {
			continue
		}
		if other.Name == r.Name {
			v.add("name", "a rule named %q exists", r.Name)
		}
		if r.CatchAll && other.CatchAll {
			v.add("catch_all", "%q is already the catch-all rule; there is one", other.Name)
		}
	}
	v.Conflict = true
	return v.err()
}

func (c *Criteria) empty() bool {
	return len(c.Sources)+len(c.Tags)+len(c.Cities)+len(c.Counties)+len(c.Neighborhoods)+len(c.PostalCodes)+
		len(c.LeadTypes)+len(c.Regions)+len(c.PropertyTypes)+len(c.Sites) == 0 && c.PriceMin == nil && c.PriceMax == nil
}

func checkCriteria(v *ValidationError, c *Criteria) {
	for _, l := range []struct {
		name string
		vals []string
	}{{"source", c.Sources}, {"tag", c.Tags}, {"city", c.Cities}, {"county", c.Counties}, {"neighborhood", c.Neighborhoods},
		{"postal_code", c.PostalCodes}, {"region", c.Regions}, {"property_type", c.PropertyTypes}, {"site", c.Sites}} {
		for i, s := range l.vals {
			v.text(fieldf("criteria.%s[%d]", l.name, i), s, maxValue)
		}
	}
	for i, t := range c.LeadTypes {
		if t != LeadBuyer && t != LeadSeller && t != LeadBoth {
			v.add(fieldf("criteria.lead_type[%d]", i), "must be buyer, seller or both")
		}
	}
	if c.PriceMin != nil && *c.PriceMin < 0 {
		v.add("criteria.price_min", "must not be negative")
	}
	if c.PriceMax != nil && *c.PriceMax < 0 {
		v.add("criteria.price_max", "must not be negative")
	}
	if c.PriceMin != nil && c.PriceMax != nil && *c.PriceMax < *c.PriceMin {
		v.add("criteria.price_max", "is below price_min")
	}
}

func checkWindow(v *ValidationError, field string, w *Window) {
	var days []string
	for _, d := range w.Days {
		d = strings.ToLower(strings.TrimSpace(d))
		if i := slices.Index(weekdayNames, d); i >= 0 {
			d = weekdays[i] // "monday" -> "mon"
		}
		if !slices.Contains(weekdays, d) {
			v.add(field+".days", "unknown day %q (mon..sun)", d)
			continue
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b string) int { return slices.Index(weekdays, a) - slices.Index(weekdays, b) })
	w.Days = days
	w.Start, w.End = strings.TrimSpace(w.Start), strings.TrimSpace(w.End)
	if !reHHMM.MatchString(w.Start) || w.Start == "24:00" {
		v.add(field+".start", "must be HH:MM (00:00-23:59)")
	}
	if !reHHMM.MatchString(w.End) {
		v.add(field+".end", "must be HH:MM (00:00-24:00)")
	}
	if w.Start == w.End {
		v.add(field+".end", "equals start; leave windows out for 24/7")
	}
}

// checkRuleAgents records wrong agents in v; an error is the database's.
func checkRuleAgents(ctx context.Context, q Queries, v *ValidationError, field string, as []RuleAgent) error {
	seen := map[string]bool{}
	for i := range as {
		a := &as[i]
		f := fieldf("%s[%d]", field, i)
		a.User = strings.ToLower(strings.TrimSpace(a.User))
		if a.LeadsPerRound == 0 {
			a.LeadsPerRound = 1
		}
		if a.LeadsPerRound < 1 || a.LeadsPerRound > maxLeadsPerRound {
			v.add(f+".leads_per_round", "must be 1 to %d", maxLeadsPerRound)
		}
		if a.User == "" {
			v.add(f+".user", "is required")
			continue
		}
		if seen[a.User] {
			v.add(f+".user", "%q is listed twice", a.User)
		}
		seen[a.User] = true
		if _, err := q.GetUserByUsername(ctx, a.User); isNotFound(err) {
			v.add(f+".user", "no user %q", a.User)
		} else if err != nil {
			return err
		}
	}
	return nil
}

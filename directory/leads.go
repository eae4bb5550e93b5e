package directory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxLeadPhones bounds the numbers one lead may carry.
const maxLeadPhones = 10

// ListLeads returns a page of leads. Agents see the leads assigned to them.
func (s *Service) ListLeads(ctx context.Context, f LeadFilter) ([]Lead, error) {
	f.Agent = strings.ToLower(strings.TrimSpace(f.Agent)) // usernames are stored so
	if a, ok := ActorFrom(ctx); ok && !a.Role.IsManager() {
		f.Agent = a.Username
	}
	if f.Phone != "" {
		e, err := s.phones.Normalize(f.Phone)
		if err != nil {
			return nil, &ValidationError{Object: "lead filter", Fields: []FieldError{{Field: "phone", Detail: err.Error()}}}
		}
		f.Phone = e
	}
	return s.q(ctx).ListLeads(ctx, f)
}

// GetLead returns one lead; agents only their own.
func (s *Service) GetLead(ctx context.Context, id int64) (Lead, error) {
	l, err := s.q(ctx).GetLead(ctx, id)
	if err != nil {
		return Lead{}, err
	}
	if !leadVisible(ctx, l) {
		return Lead{}, notFoundf("lead %d", id)
	}
	return l, nil
}

// FindLeadByPhone returns the lead a caller is (R-LEAD-3): exact E.164
// match after normalisation.
func (s *Service) FindLeadByPhone(ctx context.Context, raw string) (Lead, error) {
	e, err := s.phones.Normalize(raw)
	if err != nil {
		return Lead{}, &ValidationError{Object: "lead", Fields: []FieldError{{Field: "phone", Detail: err.Error()}}}
	}
	l, err := s.q(ctx).GetLeadByPhone(ctx, e)
	if err != nil {
		return Lead{}, err
	}
	if !leadVisible(ctx, l) {
		return Lead{}, notFoundf("lead with phone %s", e)
	}
	return l, nil
}

// leadVisible: managers see every lead, agents the leads assigned to them.
func leadVisible(ctx context.Context, l Lead) bool {
	a, ok := ActorFrom(ctx)
	return !ok || a.Role.IsManager() || slices.Contains(slices.Collect(maps.Values(l.Agents)), a.Username)
}

// CreateLead validates and stores a lead. Any user may add leads; an agent
// may assign only themselves.
func (s *Service) CreateLead(ctx context.Context, l Lead) (Lead, error) {
	id, err := s.createLead(ctx, l)
	if err != nil {
		return Lead{}, err
	}
	return s.q(ctx).GetLead(ctx, id)
}

// createLead checks and stores a lead and returns its ID (apply has no use
// for reading each lead back).
func (s *Service) createLead(ctx context.Context, l Lead) (int64, error) {
	err := s.tx(ctx, func(q Queries) error {
		if err := s.checkLead(ctx, q, &l, nil); err != nil {
			return err
		}
		l.CreatedAt = s.stamp()
		l.UpdatedAt = l.CreatedAt
		return q.CreateLead(ctx, &l)
	})
	return l.ID, err
}

// UpdateLead replaces a lead (by l.ID). Agents change only leads assigned
// to them, and not the assignments.
func (s *Service) UpdateLead(ctx context.Context, l Lead) (Lead, error) {
	err := s.tx(ctx, func(q Queries) error {
		old, err := q.GetLead(ctx, l.ID)
		if err != nil {
			return err
		}
		if !leadVisible(ctx, old) {
			return notFoundf("lead %d", l.ID)
		}
		if err := unchangedSince(l.UpdatedAt, old.UpdatedAt, "lead", fmt.Sprint(old.ID)); err != nil {
			return err
		}
		if err := s.checkLead(ctx, q, &l, &old); err != nil {
			return err
		}
		l.CreatedAt = old.CreatedAt
		l.UpdatedAt = s.stamp()
		return q.UpdateLead(ctx, &l)
	})
	if err != nil {
		return Lead{}, err
	}
	return s.q(ctx).GetLead(ctx, l.ID)
}

// DeleteLead removes a lead. Managers only.
func (s *Service) DeleteLead(ctx context.Context, id int64) error {
	if err := requireManager(ctx, "delete leads"); err != nil {
		return err
	}
	return s.q(ctx).DeleteLead(ctx, id)
}

// checkLead normalises and validates a lead (R-LEAD-1, -2).
func (s *Service) checkLead(ctx context.Context, q Queries, l *Lead, old *Lead) error {
	for _, f := range []*string{&l.Name, &l.Email, &l.Source, &l.City, &l.County, &l.Neighborhood, &l.PostalCode, &l.PropertyType, &l.Site, &l.Region} {
		*f = strings.TrimSpace(*f)
	}
	l.Type = LeadType(strings.ToLower(strings.TrimSpace(string(l.Type))))
	l.Tags = cleanList(l.Tags)
	agents := map[string]string{}
	var twice []string // roles named twice ("seller" and "listing")
	for role, user := range l.Agents {
		if user = strings.ToLower(strings.TrimSpace(user)); user != "" {
			role = canonicalRole(role)
			if other, ok := agents[role]; ok && other != user {
				twice = append(twice, role)
			}
			agents[role] = user // "" unassigns
		}
	}
	l.Agents = agents
	if len(l.Agents) == 0 {
		l.Agents = nil
	}

	if a, ok := ActorFrom(ctx); ok && !a.Role.IsManager() {
		if old != nil {
			// An agent edits a lead assigned to them, not who it is
			// assigned to (README, Access).
			if !maps.Equal(l.Agents, old.Agents) {
				return forbiddenf("agents may not change who a lead is assigned to")
			}
		} else {
			for _, user := range l.Agents {
				if user != a.Username {
					return forbiddenf("agents may assign leads only to themselves")
				}
			}
		}
	}

	v := &ValidationError{Object: "lead"}
	for _, role := range twice {
		v.add(fieldf("agents.%s", role), "two agents given for the role (\"listing\" is \"seller\")")
	}
	switch {
	case len(l.Phones) == 0:
		v.add("phones", "a lead needs at least one phone number")
	case len(l.Phones) > maxLeadPhones:
		v.add("phones", "at most %d phone numbers", maxLeadPhones)
	}
	seen := map[string]bool{}
	for i := range l.Phones {
		field := fieldf("phones[%d]", i)
		v.phone(field, s.phones, &l.Phones[i])
		if seen[l.Phones[i]] {
			v.add(field, "%s is listed twice", l.Phones[i])
		}
		seen[l.Phones[i]] = true
	}
	v.text("name", l.Name, maxName)
	if l.Email != "" {
		v.text("email", l.Email, 254)
		if !strings.Contains(l.Email, "@") {
			v.add("email", "is not an email address")
		}
	}
	for _, f := range []struct {
		name, val string
	}{{"source", l.Source}, {"city", l.City}, {"county", l.County}, {"neighborhood", l.Neighborhood},
		{"property_type", l.PropertyType}, {"site", l.Site}, {"region", l.Region}} {
		v.text(f.name, f.val, maxText)
	}
	v.text("postal_code", l.PostalCode, 20)
	if len(l.Tags) > maxTags {
		v.add("tags", "at most %d tags", maxTags)
	}
	for i, t := range l.Tags {
		v.text(fieldf("tags[%d]", i), t, maxTag)
	}
	switch l.Type {
	case "", LeadBuyer, LeadSeller, LeadBoth:
	default:
		v.add("type", "must be buyer, seller or both")
	}
	if l.PriceMin < 0 {
		v.add("price_min", "must not be negative")
	}
	if l.PriceMax < 0 {
		v.add("price_max", "must not be negative")
	}
	if l.PriceMax != 0 && l.PriceMin > l.PriceMax {
		v.add("price_max", "is below price_min")
	}
	st, err := q.GetSettings(ctx)
	if err != nil {
		return err
	}
	for _, role := range slices.Sorted(maps.Keys(l.Agents)) {
		v.roleKnown(fieldf("agents.%s", role), role, st)
		if _, err := q.GetUserByUsername(ctx, l.Agents[role]); isNotFound(err) {
			v.add(fieldf("agents.%s", role), "no user %q", l.Agents[role])
		} else if err != nil {
			return err
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	for i, p := range l.Phones {
		other, err := q.GetLeadByPhone(ctx, p)
		if err == nil && (old == nil || other.ID != old.ID) {
			v.add(fieldf("phones[%d]", i), "%s already belongs to lead %d", p, other.ID)
		} else if err != nil && !isNotFound(err) {
			return err
		}
	}
	v.Conflict = true
	return v.err()
}

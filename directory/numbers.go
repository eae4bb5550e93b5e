package directory

import (
	"context"
	"strings"
)

// ListNumbers returns a page of numbers.
func (s *Service) ListNumbers(ctx context.Context, f NumberFilter) ([]Number, error) {
	f.Kind = NumberKind(strings.ToLower(strings.TrimSpace(string(f.Kind))))
	f.Role = canonicalRole(f.Role)
	f.Owner = strings.ToLower(strings.TrimSpace(f.Owner))
	return s.q(ctx).ListNumbers(ctx, f)
}

// GetNumber returns one number.
func (s *Service) GetNumber(ctx context.Context, id int64) (Number, error) {
	return s.q(ctx).GetNumber(ctx, id)
}

// GetNumberByE164 returns a number by its E.164 form, normalising the input.
func (s *Service) GetNumberByE164(ctx context.Context, raw string) (Number, error) {
	e, err := s.numberE164(raw)
	if err != nil {
		return Number{}, err
	}
	return s.q(ctx).GetNumberByE164(ctx, e)
}

// numberE164 normalises a number to look up, or says why it is not one.
func (s *Service) numberE164(raw string) (string, error) {
	e, err := s.phones.Normalize(raw)
	if err != nil {
		return "", &ValidationError{Object: "number", Fields: []FieldError{{Field: "number", Detail: err.Error()}}}
	}
	return e, nil
}

// CreateNumber validates and stores a number. Managers only.
func (s *Service) CreateNumber(ctx context.Context, n Number) (Number, error) {
	if err := requireManager(ctx, "add numbers"); err != nil {
		return Number{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		if err := s.checkNumber(ctx, q, &n, nil); err != nil {
			return err
		}
		n.CreatedAt = s.stamp()
		n.UpdatedAt = n.CreatedAt
		return q.CreateNumber(ctx, &n)
	})
	if err != nil {
		return Number{}, err
	}
	return s.q(ctx).GetNumber(ctx, n.ID)
}

// UpdateNumber replaces a number (by n.ID). Managers only.
func (s *Service) UpdateNumber(ctx context.Context, n Number) (Number, error) {
	if err := requireManager(ctx, "change numbers"); err != nil {
		return Number{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		old, err := q.GetNumber(ctx, n.ID)
		if err != nil {
			return err
		}
		if err := unchangedSince(n.UpdatedAt, old.UpdatedAt, "number", old.E164); err != nil {
			return err
		}
		if err := s.checkNumber(ctx, q, &n, &old); err != nil {
			return err
		}
		n.CreatedAt = old.CreatedAt
		n.UpdatedAt = s.stamp()
		if err := q.UpdateNumber(ctx, &n); err != nil {
			return err
		}
		return s.clearDefaults(ctx, q, n)
	})
	if err != nil {
		return Number{}, err
	}
	return s.q(ctx).GetNumber(ctx, n.ID)
}

// DeleteNumber removes a number. Users who had it as their default number
// fall back to the account default. Managers only.
func (s *Service) DeleteNumber(ctx context.Context, id int64) error {
	if err := requireManager(ctx, "delete numbers"); err != nil {
		return err
	}
	return s.tx(ctx, func(q Queries) error {
		n, err := q.GetNumber(ctx, id)
		if err != nil {
			return err
		}
		st, err := q.GetSettings(ctx)
		if err != nil {
			return err
		}
		if st.DefaultNumber == n.E164 {
			return conflictf("%s is the account's default outbound number; choose another first", n.E164)
		}
		return q.DeleteNumber(ctx, id)
	})
}

// clearDefaults drops n as the default outbound number of users it may no
// longer be (R-NUM-6: a role number or the user's own personal number) now
// that its kind or owner changed, as deleting it would.
func (s *Service) clearDefaults(ctx context.Context, q Queries, n Number) error {
	if n.Kind == KindRole {
		return nil
	}
	users, err := q.ListUsers(ctx, Page{})
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.DefaultNumber != n.E164 || (n.Kind == KindPersonal && n.Owner == u.Username) {
			continue
		}
		u.DefaultNumber = ""
		u.UpdatedAt = s.stamp()
		if err := q.UpdateUser(ctx, &u); err != nil {
			return err
		}
		s.log.Info("default number cleared", "user", u.Username, "number", n.E164, "kind", n.Kind)
	}
	return nil
}

// checkNumber normalises and validates n (R-NUM-1..3).
func (s *Service) checkNumber(ctx context.Context, q Queries, n *Number, old *Number) error {
	n.Kind = NumberKind(strings.ToLower(strings.TrimSpace(string(n.Kind))))
	n.Role = canonicalRole(n.Role)
	n.Owner = strings.ToLower(strings.TrimSpace(n.Owner))
	n.Label = strings.TrimSpace(n.Label)
	n.Trunk = strings.TrimSpace(n.Trunk)

	v := &ValidationError{Object: "number"}
	if strings.TrimSpace(n.E164) == "" {
		v.add("number", "is required")
	} else {
		v.phone("number", s.phones, &n.E164)
	}
	st, err := q.GetSettings(ctx)
	if err != nil {
		return err
	}
	switch n.Kind {
	case KindRole:
		if n.Role == "" {
			v.add("role", "a role number needs a role (%s)", strings.Join(st.Roles, ", "))
		} else {
			v.roleKnown("role", n.Role, st)
		}
		if n.Owner != "" {
			v.add("owner", "only personal numbers have an owner")
		}
	case KindPersonal:
		if n.Owner == "" {
			v.add("owner", "a personal number needs an owner")
		}
		if n.Role != "" {
			v.add("role", "only role numbers have a role")
		}
	case KindCatchAll:
		if n.Owner != "" {
			v.add("owner", "only personal numbers have an owner")
		}
		if n.Role != "" {
			v.add("role", "only role numbers have a role")
		}
	case "":
		v.add("kind", "is required (role, personal or catch_all)")
	default:
		v.add("kind", "must be role, personal or catch_all")
	}
	v.text("label", n.Label, maxLabel)
	if n.Trunk != "" && !reTrunk.MatchString(n.Trunk) {
		v.add("trunk", "must be a trunk name (a-z 0-9 _ -)")
	}
	if err := v.err(); err != nil {
		return err
	}

	if other, err := q.GetNumberByE164(ctx, n.E164); err == nil && (old == nil || other.ID != old.ID) {
		return &ValidationError{Object: "number", Conflict: true, Fields: []FieldError{{Field: "number", Detail: n.E164 + " already exists"}}}
	} else if err != nil && !isNotFound(err) {
		return err
	}
	if n.Kind == KindPersonal {
		if _, err := q.GetUserByUsername(ctx, n.Owner); isNotFound(err) {
			v.add("owner", "no user %q", n.Owner)
		} else if err != nil {
			return err
		}
	}
	if n.Kind == KindCatchAll {
		all, err := q.ListNumbers(ctx, NumberFilter{Kind: KindCatchAll})
		if err != nil {
			return err
		}
		for _, c := range all {
			if old == nil || c.ID != old.ID {
				return &ValidationError{Object: "number", Conflict: true, Fields: []FieldError{{Field: "kind", Detail: c.E164 + " is already the catch-all number; there is one per account"}}}
			}
		}
	}
	if old != nil && old.E164 == st.DefaultNumber && (n.Kind != KindRole || n.E164 != old.E164) {
		v.add("kind", "%s is the account's default outbound number and must stay a role number", old.E164)
	}
	return v.err()
}

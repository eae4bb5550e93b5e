package directory

import (
	"context"
	"slices"
	"strings"
	"time"
)

// GetSettings returns the account settings.
func (s *Service) GetSettings(ctx context.Context) (Settings, error) {
	return s.q(ctx).GetSettings(ctx)
}

// UpdateSettings validates and stores the account settings. Managers only;
// the branded caller name only by the primary manager (R-ACC-1, R-OUT-4).
func (s *Service) UpdateSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := requireManager(ctx, "change settings"); err != nil {
		return Settings{}, err
	}
	err := s.tx(ctx, func(q Queries) error {
		old, err := q.GetSettings(ctx)
		if err != nil {
			return err
		}
		if err := unchangedSince(st.UpdatedAt, old.UpdatedAt, "settings", "of the account"); err != nil {
			return err
		}
		st.CallerName = strings.TrimSpace(st.CallerName)
		if st.CallerName != old.CallerName && !isPrimary(ctx) {
			return forbiddenf("only the primary manager sets the branded caller name")
		}
		if err := s.checkSettings(ctx, q, &st, old); err != nil {
			return err
		}
		return q.PutSettings(ctx, st, s.stamp())
	})
	if err != nil {
		return Settings{}, err
	}
	return s.q(ctx).GetSettings(ctx)
}

func (s *Service) checkSettings(ctx context.Context, q Queries, st *Settings, old Settings) error {
	v := &ValidationError{Object: "settings"}
	var roles []string
	for i, r := range st.Roles {
		r = canonicalRole(r)
		if !reRoleName.MatchString(r) {
			v.add(fieldf("roles[%d]", i), "must be 1-32 of a-z 0-9 _ - starting with a letter")
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	st.Roles = roles
	if !slices.Contains(roles, "buyer") {
		v.add("roles", "must include buyer")
	}
	if _, err := time.LoadLocation(st.TimeZone); err != nil || st.TimeZone == "" || st.TimeZone == "Local" {
		v.add("time_zone", "%q is not an IANA time zone (e.g. America/Chicago)", st.TimeZone)
	}
	if st.CallerIDMode != "dialed_number" && st.CallerIDMode != "lead_number" {
		v.add("caller_id_mode", "must be dialed_number or lead_number")
	}
	if st.CallerName != "" && !reCallerName.MatchString(st.CallerName) {
		v.add("caller_name", "at most 15 letters, digits, commas, periods and spaces")
	}
	if st.ConsentPrompt != "off" && st.ConsentPrompt != "all" && st.ConsentPrompt != "two_party" {
		v.add("consent_prompt", "must be off, all or two_party")
	}
	if !slices.Contains([]int{0, 7, 30, 90, 365}, st.RetentionDays) {
		v.add("retention_days", "must be 7, 30, 90, 365, or 0 for indefinite")
	}
	for _, f := range []struct {
		name     string
		val      string
		allow24h bool
	}{{"actionable_start", st.ActionableStart, false}, {"actionable_end", st.ActionableEnd, true}} {
		if !reHHMM.MatchString(f.val) || (!f.allow24h && f.val == "24:00") {
			v.add(f.name, "must be HH:MM")
		}
	}
	ranges := []struct {
		name     string
		val, min int64
		max      int64
	}{
		{"ring_timeout_seconds", int64(st.RingTimeoutSeconds), 5, 300},
		{"extra_number_fee_cents", st.ExtraNumberFeeCents, 0, 1e7},
		{"included_role_numbers_per_role", int64(st.IncludedRoleNumbers), 0, 1000},
		{"included_personal_numbers_per_user", int64(st.IncludedPersonalNums), 0, 1000},
		{"caller_name_fee_cents", st.CallerNameFeeCents, 0, 1e7},
		{"storage_quota_mb", st.StorageQuotaMB, 0, 1 << 40},
		{"mass_text_max_recipients", int64(st.MassTextMaxRecipients), 1, 100000},
		{"texts_per_day", int64(st.TextsPerDay), 1, 1e8},
		{"texts_per_month", int64(st.TextsPerMonth), 1, 1e9},
		{"texts_per_second_per_number", int64(st.TextsPerSecond), 1, 1000},
		{"text_overage_cents_per_1000", st.TextOverageCentsPer1k, 0, 1e7},
		{"billing_increment_seconds", int64(st.BillingIncrementSeconds), 1, 3600},
		{"included_minutes", int64(st.IncludedMinutes), 0, 1e9},
		{"minute_overage_cents", st.MinuteOverageCents, 0, 1e7},
		{"included_storage_mb", st.IncludedStorageMB, 0, 1 << 40},
		{"max_call_minutes", int64(st.MaxCallMinutes), 1, 1440},
	}
	for _, r := range ranges {
		if r.val < r.min || r.val > r.max {
			v.add(r.name, "must be %d to %d", r.min, r.max)
		}
	}
	// null or [] both mean no usage alerts; stored as [] either way.
	st.UsageAlertPercents = append([]int{}, slices.Compact(slices.Sorted(slices.Values(st.UsageAlertPercents)))...)
	for _, p := range st.UsageAlertPercents {
		if p < 1 || p > 1000 {
			v.add("usage_alert_percents", "each must be 1 to 1000")
			break
		}
	}
	if st.DefaultNumber != "" {
		v.phone("default_number", s.phones, &st.DefaultNumber)
	}
	if err := v.err(); err != nil {
		return err
	}
	if st.DefaultNumber != "" {
		n, err := q.GetNumberByE164(ctx, st.DefaultNumber)
		if isNotFound(err) || (err == nil && n.Kind != KindRole) {
			v.add("default_number", "%s is not a role number of this account", st.DefaultNumber)
		} else if err != nil {
			return err
		}
	}
	for _, r := range old.Roles {
		if slices.Contains(st.Roles, r) {
			continue
		}
		used, err := q.ListNumbers(ctx, NumberFilter{Kind: KindRole, Role: r, Page: Page{Limit: 1}})
		if err != nil {
			return err
		}
		if len(used) > 0 {
			v.add("roles", "role %q is used by number %s", r, used[0].E164)
			v.Conflict = true
			continue
		}
		// Removing a role is rare; reading the leads for it is affordable.
		leads, err := q.ListLeads(ctx, LeadFilter{})
		if err != nil {
			return err
		}
		for _, l := range leads {
			if l.Agents[r] != "" {
				v.add("roles", "role %q is assigned on lead %d (%s); unassign it first", r, l.ID, l.Phones[0])
				v.Conflict = true
				break
			}
		}
	}
	return v.err()
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/teamline/teamline/directory"
)

const selectRules = `SELECT r.id, r.name, r.position, r.active, r.catch_all, r.distribution,
	r.claim_timeout, r.price_min, r.price_max, r.created_at, r.updated_at
FROM rules r`

// Rule agent kinds (rule_agents.kind).
const (
	kindAgent  = "agent"
	kindLender = "lender"
)

// rules runs a selectRules query and fills in criteria, windows and agents
// with one query each per batch of rules.
func (q *queries) rules(ctx context.Context, query string, args ...any) ([]directory.Rule, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list rules: %w", err)
	}
	defer rows.Close()
	out := []directory.Rule{}
	for rows.Next() {
		var (
			r      directory.Rule
			lo, hi sql.NullInt64
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Position, &r.Active, &r.CatchAll, &r.Distribution,
			&r.ClaimTimeout, &lo, &hi, scanTime(&r.CreatedAt), scanTime(&r.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("store: read rule: %w", err)
		}
		if lo.Valid {
			r.Criteria.PriceMin = &lo.Int64
		}
		if hi.Valid {
			r.Criteria.PriceMax = &hi.Int64
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list rules: %w", err)
	}
	rows.Close()
	if err := q.ruleChildren(ctx, out); err != nil {
		return nil, fmt.Errorf("store: list rules: %w", err)
	}
	return out, nil
}

func (q *queries) ruleChildren(ctx context.Context, rules []directory.Rule) error {
	at := make(map[int64]*directory.Rule, len(rules))
	ids := make([]int64, len(rules))
	for i := range rules {
		at[rules[i].ID], ids[i] = &rules[i], rules[i].ID
	}
	return forBatches(ids, func(in string, args []any) error {
		err := q.each(ctx, `SELECT rule_id, type, value FROM rule_criteria WHERE rule_id IN (`+in+`)
			ORDER BY rule_id, type, position`, args, func(rows *sql.Rows) error {
			var (
				id        int64
				typ, text string
			)
			if err := rows.Scan(&id, &typ, &text); err != nil {
				return err
			}
			c := &at[id].Criteria
			if typ == criterionLeadType {
				c.LeadTypes = append(c.LeadTypes, directory.LeadType(text))
				return nil
			}
			list := criteriaList(c, typ)
			if list == nil {
				return fmt.Errorf("rule %d: unknown criterion type %q", id, typ)
			}
			*list = append(*list, text)
			return nil
		})
		if err != nil {
			return err
		}
		err = q.each(ctx, `SELECT rule_id, days, start_hhmm, end_hhmm FROM rule_windows
			WHERE rule_id IN (`+in+`) ORDER BY rule_id, position`, args, func(rows *sql.Rows) error {
			var (
				id   int64
				days string
				w    directory.Window
			)
			if err := rows.Scan(&id, &days, &w.Start, &w.End); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(days), &w.Days); err != nil {
				return fmt.Errorf("rule %d: window days: %w", id, err)
			}
			if len(w.Days) == 0 {
				w.Days = nil
			}
			at[id].Windows = append(at[id].Windows, w)
			return nil
		})
		if err != nil {
			return err
		}
		return q.each(ctx, `SELECT ra.rule_id, ra.kind, u.username, ra.leads_per_round FROM rule_agents ra
			JOIN users u ON u.id = ra.user_id WHERE ra.rule_id IN (`+in+`)
			ORDER BY ra.rule_id, ra.kind, ra.position`, args, func(rows *sql.Rows) error {
			var (
				id   int64
				kind string
				a    directory.RuleAgent
			)
			if err := rows.Scan(&id, &kind, &a.User, &a.LeadsPerRound); err != nil {
				return err
			}
			r := at[id]
			if kind == kindLender {
				r.Lenders = append(r.Lenders, a)
			} else {
				r.Agents = append(r.Agents, a)
			}
			return nil
		})
	})
}

// Criterion types (rule_criteria.type), named like the JSON fields.
const criterionLeadType = "lead_type"

var criterionTypes = []string{"source", "tag", "city", "county", "neighborhood", "postal_code",
	"region", "property_type", "site"}

// criteriaList returns the list of c that holds criteria of type typ (not
// lead_type, which has its own element type), or nil for an unknown type.
func criteriaList(c *directory.Criteria, typ string) *[]string {
	switch typ {
	case "source":
		return &c.Sources
	case "tag":
		return &c.Tags
	case "city":
		return &c.Cities
	case "county":
		return &c.Counties
	case "neighborhood":
		return &c.Neighborhoods
	case "postal_code":
		return &c.PostalCodes
	case "region":
		return &c.Regions
	case "property_type":
		return &c.PropertyTypes
	case "site":
		return &c.Sites
	}
	return nil
}

// ListRules lists all rules by Position (then ID).
func (q *queries) ListRules(ctx context.Context) ([]directory.Rule, error) {
	return q.rules(ctx, selectRules+` ORDER BY r.position, r.id`)
}

// GetRule returns the rule with the ID.
func (q *queries) GetRule(ctx context.Context, id int64) (directory.Rule, error) {
	rs, err := q.rules(ctx, selectRules+` WHERE r.id = ?`, id)
	if err != nil {
		return directory.Rule{}, err
	}
	if len(rs) == 0 {
		return directory.Rule{}, notFound("rule %d", id)
	}
	return rs[0], nil
}

// GetRuleByName returns the rule with exactly this name.
func (q *queries) GetRuleByName(ctx context.Context, name string) (directory.Rule, error) {
	cond, args := exact("r.name", name)
	rs, err := q.rules(ctx, selectRules+` WHERE `+cond, args...)
	if err != nil {
		return directory.Rule{}, err
	}
	if len(rs) == 0 {
		return directory.Rule{}, notFound("rule %q", name)
	}
	return rs[0], nil
}

func ruleArgs(r *directory.Rule) []any {
	var lo, hi any
	if r.Criteria.PriceMin != nil {
		lo = *r.Criteria.PriceMin
	}
	if r.Criteria.PriceMax != nil {
		hi = *r.Criteria.PriceMax
	}
	return []any{r.Name, r.Position, r.Active, r.CatchAll, string(r.Distribution), r.ClaimTimeout, lo, hi}
}

// CreateRule inserts r with its criteria, windows and agents and sets its
// ID and times.
func (q *queries) CreateRule(ctx context.Context, r *directory.Rule) error {
	what := fmt.Sprintf("rule %q", r.Name)
	return q.atomic(ctx, func(q *queries) error {
		created, updated := q.createStamps(r.CreatedAt, r.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `INSERT INTO rules (name, position, active, catch_all,
			distribution, claim_timeout, price_min, price_max, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(ruleArgs(r), fmtTime(created), fmtTime(updated))...)
		if err != nil {
			return writeErr(err, what)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		if err := q.insertRuleChildren(ctx, id, r); err != nil {
			return err
		}
		r.ID, r.CreatedAt, r.UpdatedAt = id, created, updated
		return nil
	})
}

// UpdateRule replaces the rule with ID r.ID, children included, and sets
// r.UpdatedAt.
func (q *queries) UpdateRule(ctx context.Context, r *directory.Rule) error {
	what := fmt.Sprintf("rule %d", r.ID)
	return q.atomic(ctx, func(q *queries) error {
		updated := q.updateStamp(r.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `UPDATE rules SET name = ?, position = ?, active = ?,
			catch_all = ?, distribution = ?, claim_timeout = ?, price_min = ?, price_max = ?,
			updated_at = ? WHERE id = ?`, append(ruleArgs(r), fmtTime(updated), r.ID)...)
		if err != nil {
			return writeErr(err, fmt.Sprintf("rule %q", r.Name))
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		for _, table := range []string{"rule_criteria", "rule_windows", "rule_agents"} {
			if _, err := q.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE rule_id = ?`, r.ID); err != nil {
				return fmt.Errorf("store: %s: %w", what, err)
			}
		}
		if err := q.insertRuleChildren(ctx, r.ID, r); err != nil {
			return err
		}
		r.UpdatedAt = updated
		return nil
	})
}

func (q *queries) insertRuleChildren(ctx context.Context, id int64, r *directory.Rule) error {
	what := fmt.Sprintf("rule %q", r.Name)
	var crit []any
	add := func(typ string, values []string) {
		for i, v := range values {
			crit = append(crit, id, typ, i, v)
		}
	}
	c := r.Criteria
	for _, typ := range criterionTypes {
		add(typ, *criteriaList(&c, typ))
	}
	for i, t := range c.LeadTypes {
		crit = append(crit, id, criterionLeadType, i, string(t))
	}
	if len(crit) > 0 {
		if err := q.insertRows(ctx, `INSERT INTO rule_criteria (rule_id, type, position, value)`, 4, crit); err != nil {
			return writeErr(err, what)
		}
	}
	if len(r.Windows) > 0 {
		args := make([]any, 0, 5*len(r.Windows))
		for i, w := range r.Windows {
			days := w.Days
			if days == nil {
				days = []string{}
			}
			doc, err := json.Marshal(days)
			if err != nil {
				return fmt.Errorf("store: %s: %w", what, err)
			}
			args = append(args, id, i, string(doc), w.Start, w.End)
		}
		err := q.insertRows(ctx, `INSERT INTO rule_windows (rule_id, position, days, start_hhmm, end_hhmm)`, 5, args)
		if err != nil {
			return writeErr(err, what)
		}
	}
	lists := []struct {
		kind   string
		agents []directory.RuleAgent
	}{{kindAgent, r.Agents}, {kindLender, r.Lenders}}
	var names []string
	for _, list := range lists {
		seen := map[string]bool{}
		for _, a := range list.agents {
			if seen[a.User] {
				return fmt.Errorf("%w: %s: user %q listed twice among the %ss", directory.ErrConflict, what, a.User, list.kind)
			}
			seen[a.User] = true
			names = append(names, a.User)
		}
	}
	users, err := q.userIDs(ctx, names)
	if err != nil {
		return err
	}
	var agents []any
	for _, list := range lists {
		for i, a := range list.agents {
			agents = append(agents, id, list.kind, i, users[a.User], a.LeadsPerRound)
		}
	}
	if len(agents) > 0 {
		err := q.insertRows(ctx, `INSERT INTO rule_agents (rule_id, kind, position, user_id, leads_per_round)`, 5, agents)
		if err != nil {
			return writeErr(err, what)
		}
	}
	return nil
}

// DeleteRule deletes the rule with its criteria, windows and agents.
func (q *queries) DeleteRule(ctx context.Context, id int64) error {
	what := fmt.Sprintf("rule %d", id)
	res, err := q.q.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id)
	if err != nil {
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

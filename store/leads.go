package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/teamline/teamline/directory"
)

const selectLeads = `SELECT l.id, l.name, l.email, l.source, l.type, l.price_min, l.price_max, l.city,
	l.county, l.neighborhood, l.postal_code, l.property_type, l.site, l.region, l.created_at, l.updated_at
FROM leads l`

// leads runs a selectLeads query and fills in the phones, tags and agents of
// the leads found with one query each per batch of leads (no N+1).
func (q *queries) leads(ctx context.Context, query string, args ...any) ([]directory.Lead, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list leads: %w", err)
	}
	defer rows.Close()
	out := []directory.Lead{}
	for rows.Next() {
		var l directory.Lead
		if err := rows.Scan(&l.ID, &l.Name, &l.Email, &l.Source, &l.Type, &l.PriceMin, &l.PriceMax,
			&l.City, &l.County, &l.Neighborhood, &l.PostalCode, &l.PropertyType, &l.Site, &l.Region,
			scanTime(&l.CreatedAt), scanTime(&l.UpdatedAt)); err != nil {
			return nil, fmt.Errorf("store: read lead: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list leads: %w", err)
	}
	rows.Close()
	if err := q.leadChildren(ctx, out); err != nil {
		return nil, fmt.Errorf("store: list leads: %w", err)
	}
	return out, nil
}

// leadChildren fills in the phones, tags and agents of leads with one
// query per batch: a UNION of the three tables, each row tagged with its
// kind. The rows come in no particular order (an ORDER BY over the UNION
// would cost MySQL a temporary table and a sort, more than the query
// itself); phones and tags are put in position order here.
func (q *queries) leadChildren(ctx context.Context, leads []directory.Lead) error {
	type child struct {
		position int64
		value    string
	}
	at := make(map[int64]*directory.Lead, len(leads))
	ids := make([]int64, len(leads))
	for i := range leads {
		at[leads[i].ID], ids[i] = &leads[i], leads[i].ID
	}
	phones, tags := map[int64][]child{}, map[int64][]child{}
	err := forBatches(ids, func(in string, args []any) error {
		return q.each(ctx, `SELECT lead_id, 'phone', position, e164, '' FROM lead_phones WHERE lead_id IN (`+in+`)
			UNION ALL SELECT lead_id, 'tag', position, tag, '' FROM lead_tags WHERE lead_id IN (`+in+`)
			UNION ALL SELECT la.lead_id, 'agent', 0, la.role, u.username FROM lead_agents la
				JOIN users u ON u.id = la.user_id WHERE la.lead_id IN (`+in+`)`,
			slices.Concat(args, args, args), func(r *sql.Rows) error {
				var (
					id             int64
					c              child
					kind, username string
				)
				if err := r.Scan(&id, &kind, &c.position, &c.value, &username); err != nil {
					return err
				}
				switch kind {
				case "phone":
					phones[id] = append(phones[id], c)
				case "tag":
					tags[id] = append(tags[id], c)
				case "agent":
					l := at[id]
					if l.Agents == nil {
						l.Agents = map[string]string{}
					}
					l.Agents[c.value] = username
				}
				return nil
			})
	})
	if err != nil {
		return err
	}
	inOrder := func(cs []child) []string {
		slices.SortFunc(cs, func(a, b child) int { return cmp.Compare(a.position, b.position) })
		var out []string
		for _, c := range cs {
			out = append(out, c.value)
		}
		return out
	}
	for id, l := range at {
		l.Phones, l.Tags = inOrder(phones[id]), inOrder(tags[id])
	}
	return nil
}

// each calls fn for every row of the query.
func (q *queries) each(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ListLeads lists leads by ID. Query matches a substring of the name, case
// insensitively (Unicode lower case, the same on both backends: it searches
// name_fold, the name lowered in Go). A Phone or Agent that is on no lead
// matches nothing.
func (q *queries) ListLeads(ctx context.Context, f directory.LeadFilter) ([]directory.Lead, error) {
	query, args := selectLeads+` WHERE l.id > ?`, []any{f.After}
	if f.Phone != "" {
		cond, a := exact("e164", f.Phone)
		query, args = query+` AND l.id IN (SELECT lead_id FROM lead_phones WHERE `+cond+`)`, append(args, a...)
	}
	if f.Agent != "" {
		cond, a := exact("u.username", f.Agent)
		query += ` AND l.id IN (SELECT la.lead_id FROM lead_agents la JOIN users u ON u.id = la.user_id
			WHERE ` + cond + `)`
		args = append(args, a...)
	}
	if f.Query != "" {
		query += ` AND l.name_fold LIKE ? ESCAPE '!'`
		args = append(args, "%"+likeEscape(fold(f.Query))+"%")
	}
	query, args = pageSQL(query, "l.id", f.Page, args)
	return q.leads(ctx, query, args...)
}

func fold(s string) string { return strings.ToLower(s) }

// GetLead returns the lead with the ID.
func (q *queries) GetLead(ctx context.Context, id int64) (directory.Lead, error) {
	ls, err := q.leads(ctx, selectLeads+` WHERE l.id = ?`, id)
	if err != nil {
		return directory.Lead{}, err
	}
	if len(ls) == 0 {
		return directory.Lead{}, notFound("lead %d", id)
	}
	return ls[0], nil
}

// GetLeadByPhone returns the lead with this phone. Every inbound call asks
// (R-LEAD-3), so it costs two queries: the phone's lead row, and its
// children.
func (q *queries) GetLeadByPhone(ctx context.Context, e164 string) (directory.Lead, error) {
	cond, args := exact("e164", e164)
	ls, err := q.leads(ctx, selectLeads+` WHERE l.id = (SELECT lead_id FROM lead_phones WHERE `+cond+`)`, args...)
	if err != nil {
		return directory.Lead{}, err
	}
	if len(ls) == 0 {
		return directory.Lead{}, notFound("lead with phone %q", e164)
	}
	return ls[0], nil
}

func (q *queries) lookupLeadID(ctx context.Context, e164 string) (int64, bool, error) {
	cond, args := exact("e164", e164)
	var id int64
	err := q.q.QueryRowContext(ctx, `SELECT lead_id FROM lead_phones WHERE `+cond, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: find lead by phone: %w", err)
	}
	return id, true, nil
}

func leadArgs(l *directory.Lead) []any {
	return []any{l.Name, fold(l.Name), l.Email, l.Source, string(l.Type), l.PriceMin, l.PriceMax,
		l.City, l.County, l.Neighborhood, l.PostalCode, l.PropertyType, l.Site, l.Region}
}

const leadColumns = `name, name_fold, email, source, type, price_min, price_max, city, county,
	neighborhood, postal_code, property_type, site, region`

// CreateLead inserts l with its phones, tags and agents and sets its ID and
// times.
func (q *queries) CreateLead(ctx context.Context, l *directory.Lead) error {
	return q.atomic(ctx, func(q *queries) error {
		created, updated := q.createStamps(l.CreatedAt, l.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `INSERT INTO leads (`+leadColumns+`, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append(leadArgs(l), fmtTime(created), fmtTime(updated))...)
		if err != nil {
			return writeErr(err, "lead")
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: lead: %w", err)
		}
		if err := q.insertLeadChildren(ctx, id, l); err != nil {
			return err
		}
		l.ID, l.CreatedAt, l.UpdatedAt = id, created, updated
		return nil
	})
}

// UpdateLead replaces the lead with ID l.ID, its phones, tags and agents
// included, and sets l.UpdatedAt.
func (q *queries) UpdateLead(ctx context.Context, l *directory.Lead) error {
	what := fmt.Sprintf("lead %d", l.ID)
	return q.atomic(ctx, func(q *queries) error {
		updated := q.updateStamp(l.UpdatedAt)
		res, err := q.q.ExecContext(ctx, `UPDATE leads SET name = ?, name_fold = ?, email = ?, source = ?,
			type = ?, price_min = ?, price_max = ?, city = ?, county = ?, neighborhood = ?, postal_code = ?,
			property_type = ?, site = ?, region = ?, updated_at = ? WHERE id = ?`,
			append(leadArgs(l), fmtTime(updated), l.ID)...)
		if err != nil {
			return writeErr(err, what)
		}
		if err := mustAffect(res, what); err != nil {
			return err
		}
		for _, table := range []string{"lead_phones", "lead_tags", "lead_agents"} {
			if _, err := q.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE lead_id = ?`, l.ID); err != nil {
				return fmt.Errorf("store: %s: %w", what, err)
			}
		}
		if err := q.insertLeadChildren(ctx, l.ID, l); err != nil {
			return err
		}
		l.UpdatedAt = updated
		return nil
	})
}

func (q *queries) insertLeadChildren(ctx context.Context, id int64, l *directory.Lead) error {
	what := fmt.Sprintf("lead %d", id)
	if len(l.Phones) > 0 {
		args := make([]any, 0, 3*len(l.Phones))
		for i, p := range l.Phones {
			args = append(args, id, i, p)
		}
		err := q.insertRows(ctx, `INSERT INTO lead_phones (lead_id, position, e164)`, 3, args)
		if err != nil {
			if kind, _ := classify(err); kind == errUnique {
				return q.phoneConflict(ctx, id, l.Phones)
			}
			return writeErr(err, what)
		}
	}
	if len(l.Tags) > 0 {
		args := make([]any, 0, 3*len(l.Tags))
		for i, t := range l.Tags {
			args = append(args, id, i, t)
		}
		if err := q.insertRows(ctx, `INSERT INTO lead_tags (lead_id, position, tag)`, 3, args); err != nil {
			return writeErr(err, what)
		}
	}
	if len(l.Agents) > 0 {
		roles := make([]string, 0, len(l.Agents))
		for r := range l.Agents {
			roles = append(roles, r)
		}
		slices.Sort(roles) // the same error for the same input
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = l.Agents[r]
		}
		users, err := q.userIDs(ctx, names)
		if err != nil {
			return err
		}
		args := make([]any, 0, 3*len(roles))
		for _, r := range roles {
			args = append(args, id, r, users[l.Agents[r]])
		}
		if err := q.insertRows(ctx, `INSERT INTO lead_agents (lead_id, role, user_id)`, 3, args); err != nil {
			return writeErr(err, what)
		}
	}
	return nil
}

// phoneConflict names the phone that is twice in phones or already on
// another lead.
func (q *queries) phoneConflict(ctx context.Context, id int64, phones []string) error {
	seen := map[string]bool{}
	for _, p := range phones {
		if seen[p] {
			return fmt.Errorf("%w: phone %q listed twice", directory.ErrConflict, p)
		}
		seen[p] = true
	}
	for _, p := range phones {
		other, ok, err := q.lookupLeadID(ctx, p)
		if err == nil && ok && other != id {
			return fmt.Errorf("%w: phone %q is already on lead %d", directory.ErrConflict, p, other)
		}
	}
	return fmt.Errorf("%w: phone already on a lead", directory.ErrConflict)
}

// DeleteLead deletes the lead with its phones, tags and agents.
func (q *queries) DeleteLead(ctx context.Context, id int64) error {
	what := fmt.Sprintf("lead %d", id)
	res, err := q.q.ExecContext(ctx, `DELETE FROM leads WHERE id = ?`, id)
	if err != nil {
		return deleteErr(err, what)
	}
	return mustAffect(res, what)
}

// CountLeads returns the number of leads.
func (q *queries) CountLeads(ctx context.Context) (int64, error) {
	var n int64
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM leads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count leads: %w", err)
	}
	return n, nil
}

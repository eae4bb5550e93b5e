package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Change is one step of an apply plan.
type Change struct {
	Action string   `json:"action"` // create, update, delete
	Object string   `json:"object"` // settings, user, number, lead, rule
	Key    string   `json:"key"`    // username, E.164, first phone, rule name
	Fields []string `json:"fields,omitempty"`
}

func (c Change) String() string {
	sign := map[string]string{"create": "+", "update": "~", "delete": "-"}[c.Action]
	s := fmt.Sprintf("%s %s %s", sign, c.Object, c.Key)
	if len(c.Fields) > 0 {
		s += " (" + strings.Join(c.Fields, ", ") + ")"
	}
	return s
}

// Plan is what apply did, or would do with a dry run, in order.
type Plan []Change

// Summary counts the changes: "3 created, 1 changed, 0 deleted".
func (p Plan) Summary() string {
	n := map[string]int{}
	for _, c := range p {
		n[c.Action]++
	}
	return fmt.Sprintf("%d created, %d changed, %d deleted", n["create"], n["update"], n["delete"])
}

var errDryRun = errors.New("dry run")

// Apply makes the directory what the file says, in one transaction: all of
// it or, on any error, none of it. Applying the same file twice changes
// nothing the second time. With dryRun the changes are made, reported and
// rolled back, so the plan shows exactly what apply would do, errors too.
func (s *Service) Apply(ctx context.Context, f *File, dryRun bool) (Plan, error) {
	if err := requireManager(ctx, "apply a directory file"); err != nil {
		return nil, err
	}
	var plan Plan
	err := s.inTx(ctx, func(tx Queries) error {
		q := newApplyCache(tx)
		a := &applier{s: s, f: f, q: q, seen: map[string]int{}}
		if err := a.run(context.WithValue(ctx, txKey{}, Queries(q))); err != nil {
			return err
		}
		plan = a.plan
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return plan, nil
}

type applier struct {
	s    *Service
	f    *File
	q    Queries
	plan Plan
	seen map[string]int // object+key -> index in plan
}

// record adds a change, folding repeated changes of one object into one.
func (a *applier) record(action, object, key string, fields []string) {
	k := object + "\x00" + key
	if i, ok := a.seen[k]; ok {
		c := &a.plan[i]
		for _, f := range fields {
			if !slices.Contains(c.Fields, f) {
				c.Fields = append(c.Fields, f)
			}
		}
		if action == "delete" {
			c.Action = "delete"
		}
		return
	}
	a.seen[k] = len(a.plan)
	a.plan = append(a.plan, Change{Action: action, Object: object, Key: key, Fields: fields})
}

func (a *applier) run(ctx context.Context) error {
	cur, err := a.q.GetSettings(ctx)
	if err != nil {
		return err
	}
	var want *Settings
	if a.f.Settings != nil {
		w := cur
		w.Roles = slices.Clone(cur.Roles)
		w.UsageAlertPercents = slices.Clone(cur.UsageAlertPercents)
		if err := a.f.Settings.Decode(&w); err != nil {
			return fmt.Errorf("settings: %w", yamlError(err))
		}
		want = &w
		// The default number may be one the file creates or deletes: set it
		// once the numbers are in place.
		first := w
		first.DefaultNumber = ""
		// Likewise a role the file drops may still be used by a number or a
		// lead assignment the file changes: keep it until those are in place.
		first.Roles = append(slices.Clone(w.Roles), cur.Roles...)
		if s, err := a.s.phones.Normalize(w.DefaultNumber); err == nil && s == cur.DefaultNumber {
			first.DefaultNumber = cur.DefaultNumber
		}
		if err := a.settings(ctx, first); err != nil {
			return err
		}
	}
	if err := a.users(ctx, false); err != nil {
		return err
	}
	if err := a.deleteRules(ctx); err != nil {
		return err
	}
	if err := a.numbers(ctx); err != nil {
		return err
	}
	if err := a.users(ctx, true); err != nil {
		return err
	}
	if err := a.leads(ctx); err != nil {
		return err
	}
	// The final settings once numbers and leads are in place: a role the
	// file drops is then no longer used by either.
	if want != nil {
		if err := a.settings(ctx, *want); err != nil {
			return err
		}
	}
	if err := a.rules(ctx); err != nil {
		return err
	}
	return a.deleteUsers(ctx)
}

func (a *applier) settings(ctx context.Context, want Settings) error {
	cur, err := a.q.GetSettings(ctx)
	if err != nil {
		return err
	}
	if err := a.s.checkSettings(ctx, a.q, &want, cur); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if d := diff(cur, want); len(d) > 0 {
		want.UpdatedAt = time.Time{} // the file is the truth, whatever was read before
		if _, err := a.s.UpdateSettings(ctx, want); err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		a.record("update", "settings", "account", d)
	}
	return nil
}

// users creates and updates the file's users. The first pass leaves the
// default number and dialer access of each user as stored (they depend on
// numbers that may not exist yet); the second pass sets them.
func (a *applier) users(ctx context.Context, final bool) error {
	if !a.f.Has("users") {
		return nil
	}
	// A new primary manager first: appointing one hands the role over, and
	// the old one cannot be demoted before there is another.
	order := frontFirst(len(a.f.Users), func(i int) bool { return a.f.Users[i].Role == RolePrimaryManager })
	names := map[string]int{}
	for _, i := range order {
		u := a.f.Users[i]
		where := a.f.where("users", i)
		name := strings.ToLower(strings.TrimSpace(u.Username))
		if j, dup := names[name]; dup {
			return fmt.Errorf("%s: username %q is also users[%d]", where, name, j)
		}
		names[name] = i
		old, err := a.q.GetUserByUsername(ctx, name)
		exists := err == nil
		if err != nil && !isNotFound(err) {
			return err
		}
		if exists && !u.CellVerified && old.CellVerified {
			// Verification is earned by the code sent to the phone, not
			// declared: a file that does not say cell_verified keeps it for
			// as long as the phone stays the same.
			if cell, err := a.s.phones.Normalize(u.CellPhone); err == nil && cell == old.CellPhone {
				u.CellVerified = true
			}
		}
		if !final {
			if exists {
				u.DefaultNumber, u.DialerAccess = old.DefaultNumber, old.DialerAccess
			} else {
				u.DefaultNumber, u.DialerAccess = "", false
			}
		}
		if !exists {
			if _, err := a.s.CreateUser(ctx, u); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("create", "user", name, nil)
			continue
		}
		u.ID = old.ID
		if err := a.s.checkUser(ctx, a.q, &u, &old); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		d := diff(old, u)
		if !reflect.DeepEqual(old.SIP, u.SIP) {
			d = append(d, "sip_password")
		}
		if len(d) == 0 {
			continue
		}
		if _, err := a.s.UpdateUser(ctx, u); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		a.record("update", "user", name, d)
	}
	return nil
}

func (a *applier) deleteUsers(ctx context.Context) error {
	if !a.f.Has("users") {
		return nil
	}
	keep := map[string]bool{}
	for _, u := range a.f.Users {
		keep[strings.ToLower(strings.TrimSpace(u.Username))] = true
	}
	all, err := a.q.ListUsers(ctx, Page{})
	if err != nil {
		return err
	}
	for _, u := range all {
		if keep[u.Username] {
			continue
		}
		if err := a.s.DeleteUser(ctx, u.ID); err != nil {
			return fmt.Errorf("deleting user %q (not in the file): %w", u.Username, err)
		}
		a.record("delete", "user", u.Username, nil)
	}
	return nil
}

func (a *applier) numbers(ctx context.Context) error {
	if !a.f.Has("numbers") {
		return nil
	}
	want := map[string]int{}
	for i := range a.f.Numbers {
		n := &a.f.Numbers[i]
		e, err := a.s.phones.Normalize(n.E164)
		if err != nil {
			return fmt.Errorf("%s: number: %w", a.f.where("numbers", i), err)
		}
		if j, dup := want[e]; dup {
			return fmt.Errorf("%s: number %s is also numbers[%d]", a.f.where("numbers", i), e, j)
		}
		want[e] = i
		n.E164 = e
	}
	all, err := a.q.ListNumbers(ctx, NumberFilter{})
	if err != nil {
		return err
	}
	// Delete first so that a number can take over the catch-all kind of
	// one that goes.
	for _, n := range all {
		if _, ok := want[n.E164]; ok {
			continue
		}
		if err := a.s.DeleteNumber(ctx, n.ID); err != nil {
			return fmt.Errorf("deleting number %s (not in the file): %w", n.E164, err)
		}
		a.record("delete", "number", n.E164, nil)
	}
	// The new catch-all number last, so that the one it takes over from has
	// changed kind before (there is one per account).
	order := frontFirst(len(a.f.Numbers), func(i int) bool {
		return NumberKind(strings.ToLower(strings.TrimSpace(string(a.f.Numbers[i].Kind)))) != KindCatchAll
	})
	for _, i := range order {
		n := a.f.Numbers[i]
		where := a.f.where("numbers", i)
		old, err := a.q.GetNumberByE164(ctx, n.E164)
		if isNotFound(err) {
			if _, err := a.s.CreateNumber(ctx, n); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("create", "number", n.E164, nil)
			continue
		} else if err != nil {
			return err
		}
		n.ID = old.ID
		if err := a.s.checkNumber(ctx, a.q, &n, &old); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if d := diff(old, n); len(d) > 0 {
			if _, err := a.s.UpdateNumber(ctx, n); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("update", "number", n.E164, d)
		}
	}
	return nil
}

// leads matches the file's leads to stored ones by phone number.
func (a *applier) leads(ctx context.Context) error {
	if !a.f.Has("leads") {
		return nil
	}
	owner := map[string]int{} // phone -> index in the file
	for i := range a.f.Leads {
		l := &a.f.Leads[i]
		where := a.f.where("leads", i)
		if len(l.Phones) == 0 {
			return fmt.Errorf("%s: a lead needs at least one phone number", where)
		}
		for k, p := range l.Phones {
			e, err := a.s.phones.Normalize(p)
			if err != nil {
				return fmt.Errorf("%s: phones[%d]: %w", where, k, err)
			}
			if j, dup := owner[e]; dup && j != i {
				return fmt.Errorf("%s: phone %s is also on leads[%d]", where, e, j)
			}
			owner[e] = i
			l.Phones[k] = e
		}
	}
	all, err := a.q.ListLeads(ctx, LeadFilter{})
	if err != nil {
		return err
	}
	match := make([]*Lead, len(a.f.Leads))
	for _, old := range all {
		hit := -1
		for _, p := range old.Phones {
			if i, ok := owner[p]; ok {
				if hit >= 0 && hit != i {
					return fmt.Errorf("%s and %s: stored lead %d has phones of both", a.f.where("leads", hit), a.f.where("leads", i), old.ID)
				}
				hit = i
			}
		}
		switch {
		case hit < 0:
			if err := a.s.DeleteLead(ctx, old.ID); err != nil {
				return fmt.Errorf("deleting lead %s (not in the file): %w", old.Phones[0], err)
			}
			a.record("delete", "lead", old.Phones[0], nil)
		case match[hit] != nil:
			return fmt.Errorf("%s: its phones are on stored leads %d and %d", a.f.where("leads", hit), match[hit].ID, old.ID)
		default:
			match[hit] = &old
		}
	}
	for i, l := range a.f.Leads {
		where := a.f.where("leads", i)
		old := match[i]
		if old == nil {
			if _, err := a.s.createLead(ctx, l); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("create", "lead", l.Phones[0], nil)
			continue
		}
		l.ID = old.ID
		if err := a.s.checkLead(ctx, a.q, &l, old); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if d := diff(*old, l); len(d) > 0 {
			if _, err := a.s.UpdateLead(ctx, l); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("update", "lead", l.Phones[0], d)
		}
	}
	return nil
}

func (a *applier) deleteRules(ctx context.Context) error {
	if !a.f.Has("rules") {
		return nil
	}
	keep := map[string]bool{}
	for _, r := range a.f.Rules {
		keep[strings.TrimSpace(r.Name)] = true
	}
	all, err := a.q.ListRules(ctx)
	if err != nil {
		return err
	}
	for _, r := range all {
		if keep[r.Name] {
			continue
		}
		if err := a.s.DeleteRule(ctx, r.ID); err != nil {
			return fmt.Errorf("deleting rule %q (not in the file): %w", r.Name, err)
		}
		a.record("delete", "rule", r.Name, nil)
	}
	return nil
}

// rules creates and updates rules in file order: the file's order is the
// evaluation order.
func (a *applier) rules(ctx context.Context) error {
	if !a.f.Has("rules") {
		return nil
	}
	names := map[string]int{}
	for i, r := range a.f.Rules {
		where := a.f.where("rules", i)
		name := strings.TrimSpace(r.Name)
		if j, dup := names[name]; dup {
			return fmt.Errorf("%s: rule name %q is also rules[%d]", where, name, j)
		}
		names[name] = i
		if r.CatchAll && i != len(a.f.Rules)-1 {
			return fmt.Errorf("%s: the catch-all rule must be the last rule", where)
		}
	}
	for i, r := range a.f.Rules {
		where := a.f.where("rules", i)
		r.Position = i + 1
		old, err := a.q.GetRuleByName(ctx, strings.TrimSpace(r.Name))
		if isNotFound(err) {
			if _, err := a.s.CreateRule(ctx, r); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("create", "rule", strings.TrimSpace(r.Name), nil)
			continue
		} else if err != nil {
			return err
		}
		r.ID = old.ID
		if err := a.s.checkRule(ctx, a.q, &r, &old); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if d := diff(old, r); len(d) > 0 {
			if _, err := a.s.UpdateRule(ctx, r); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			a.record("update", "rule", r.Name, d)
		}
	}
	return nil
}

// frontFirst returns the indices 0..n-1, those for which front holds first,
// each group in file order.
func frontFirst(n int, front func(i int) bool) []int {
	var first, rest []int
	for i := range n {
		if front(i) {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	return append(first, rest...)
}

// diff names the JSON fields that differ between two objects, ignoring
// identity and bookkeeping fields.
func diff(a, b any) []string {
	ma, mb := jsonFields(a), jsonFields(b)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(ma, mb))) {
		switch k {
		case "id", "created_at", "updated_at", "sip_enabled":
			continue
		}
		if !bytes.Equal(ma[k], mb[k]) {
			out = append(out, k)
		}
	}
	return out
}

func jsonFields(v any) map[string]json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // directory types always marshal
	}
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(b, &m)
	return m
}

func mergeKeys(a, b map[string]json.RawMessage) map[string]bool {
	k := map[string]bool{}
	for x := range a {
		k[x] = true
	}
	for x := range b {
		k[x] = true
	}
	return k
}

// Export writes the whole directory in the directory file format, sorted,
// so that the same directory always exports the same bytes. The file
// carries SIP credentials as HA1 digests: keep it as secret as a password
// file.
func (s *Service) Export(ctx context.Context) ([]byte, error) {
	if err := requireManager(ctx, "export the directory"); err != nil {
		return nil, err
	}
	var f exportFile
	err := s.store.InTx(ctx, func(q Queries) error {
		var err error
		if f.Settings, err = q.GetSettings(ctx); err != nil {
			return err
		}
		if f.Users, err = q.ListUsers(ctx, Page{}); err != nil {
			return err
		}
		if f.Numbers, err = q.ListNumbers(ctx, NumberFilter{}); err != nil {
			return err
		}
		if f.Leads, err = q.ListLeads(ctx, LeadFilter{}); err != nil {
			return err
		}
		f.Rules, err = q.ListRules(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	sortForExport(&f)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

package router

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/teamline/teamline/directory"
)

// Lead sources of leads created by routing (R-IN-3a).
const (
	SourceInboundCall = "inbound call"
	SourceInboundText = "inbound text"
)

// Route decides who gets a call or text (R-IN-1..4, R-RULE). An error is
// returned only when the directory or the store could not be read or
// written (the caller answers 503 or 500); a decision that takes nobody's
// call is a Reject decision, not an error.
func (r *Router) Route(ctx context.Context, req Request) (Decision, error) {
	if req.Kind == "" {
		req.Kind = KindCall
	}
	if req.At.IsZero() {
		req.At = r.now()
	}
	d, err := r.route(ctx, req)
	if errors.Is(err, directory.ErrConflict) && !req.Explain {
		// The caller became a lead meanwhile (the same number calling
		// twice at once, perhaps on another gateway): route again, now
		// as a known lead.
		d, err = r.route(ctx, req)
	}
	return d, err
}

func (r *Router) route(ctx context.Context, req Request) (Decision, error) {
	d := Decision{At: req.At}
	if req.Explain {
		d.trace("explaining a %s from %s to %s at %s", req.Kind, orDash(req.From), orDash(req.To), req.At.Format(time.RFC3339))
	}
	n, err := r.dir.GetNumberByE164(ctx, req.To)
	switch {
	case isNotFound(err) || isInvalid(err):
		d.trace("%s is not a number of this account", orDash(req.To))
		return d.reject(), nil
	case err != nil:
		return d, fmt.Errorf("router: number %s: %w", req.To, err)
	}
	d.Number = n
	switch n.Kind {
	case directory.KindPersonal:
		// R-IN-1: always to the owner, whoever calls.
		d.trace("%s is the personal number of %s", n.E164, n.Owner)
		d.ring(ModeDirect, n.Owner, []string{n.Owner})
		return d, nil
	case directory.KindCatchAll:
		d.trace("%s is the catch-all number; nothing routes to it", n.E164)
		return d.reject(), nil
	}
	st, err := r.dir.GetSettings(ctx)
	if err != nil {
		return d, fmt.Errorf("router: settings: %w", err)
	}
	d.Role = n.Role
	d.trace("%s is a %s role number", n.E164, n.Role)

	lead, err := r.dir.FindLeadByPhone(ctx, req.From)
	switch {
	case isNotFound(err) || isInvalid(err):
		d.trace("caller %s is not a known lead", orDash(req.From))
	case err != nil:
		return d, fmt.Errorf("router: lead %s: %w", req.From, err)
	default:
		d.Lead = &lead
		if agent := lead.Agents[n.Role]; agent != "" {
			// R-IN-2, R-RULE-8: assignment decides; the lead keeps its
			// agent.
			d.trace("caller is lead %d, whose %s agent is %s", lead.ID, n.Role, agent)
			d.ring(ModeDirect, agent, []string{agent})
			return d, nil
		}
		// R-IN-2: a known lead without an agent in that role is unknown.
		d.trace("caller is lead %d, which has no %s agent: treated as unknown", lead.ID, n.Role)
	}

	if !st.UnknownLeadRouting {
		d.trace("unknown-number lead routing is off")
		return r.catchAll(ctx, d, req)
	}
	if d.Lead == nil {
		from, err := r.dir.NormalizePhone(req.From)
		if err != nil {
			d.trace("caller %s is not a phone number: no lead can be made", orDash(req.From))
			return r.catchAll(ctx, d, req)
		}
		source := SourceInboundCall
		if req.Kind == KindText {
			source = SourceInboundText
		}
		d.Lead = &directory.Lead{Phones: []string{from}, Source: source, Type: leadTypeOf(n.Role)}
		d.LeadCreated = true
		d.trace("new lead: phone %s, source %q, type %s", from, source, orDash(string(d.Lead.Type)))
	}
	rule, err := r.pickRule(ctx, &d, st, req.At)
	if err != nil {
		return d, err
	}
	if rule == nil {
		if d.LeadCreated {
			d.Lead, d.LeadCreated = nil, false
			d.trace("no rule matches: no lead is created")
		}
		return r.catchAll(ctx, d, req)
	}
	if err := r.distribute(ctx, &d, rule, st, req.Explain); err != nil {
		return d, err
	}
	return d, nil
}

// RouteLead runs the lead-routing rules for a lead created outside a call
// (the API, a web form): the role is the lead's type (seller for seller
// leads, buyer otherwise). Auto-assign assigns the lead by rotation at
// once; claim and instant call, inside the actionable window, leave it
// unassigned and return the agents to offer it to (the gateway calls them
// and connects the one who presses 1 to the lead); outside the window they
// fall back to auto-assign. A lead that has an agent for the role keeps it
// (R-RULE-8). With explain nothing is changed.
func (r *Router) RouteLead(ctx context.Context, leadID int64, explain bool) (Decision, error) {
	d := Decision{At: r.now()}
	lead, err := r.dir.GetLead(ctx, leadID)
	if err != nil {
		return d, fmt.Errorf("router: lead %d: %w", leadID, err)
	}
	d.Lead = &lead
	d.Role = string(directory.LeadBuyer)
	if lead.Type == directory.LeadSeller {
		d.Role = string(directory.LeadSeller)
	}
	d.trace("lead %d (type %s) is routed for the %s role", lead.ID, orDash(string(lead.Type)), d.Role)
	ns, err := r.dir.ListNumbers(ctx, directory.NumberFilter{Kind: directory.KindRole, Role: d.Role, Page: directory.Page{Limit: 1}})
	if err != nil {
		return d, fmt.Errorf("router: role numbers: %w", err)
	}
	if len(ns) > 0 {
		d.Number = ns[0]
	}
	if agent := lead.Agents[d.Role]; agent != "" {
		d.trace("the lead's %s agent is %s: it keeps it", d.Role, agent)
		d.ring(ModeDirect, agent, []string{agent})
		return d, nil
	}
	st, err := r.dir.GetSettings(ctx)
	if err != nil {
		return d, fmt.Errorf("router: settings: %w", err)
	}
	rule, err := r.pickRule(ctx, &d, st, d.At)
	if err != nil {
		return d, err
	}
	if rule == nil {
		d.trace("no rule matches: the lead stays unassigned")
		return d.reject(), nil
	}
	return d, r.distribute(ctx, &d, rule, st, explain)
}

// Claim makes user the agent of the decision's lead for the decision's
// role, if nobody has it yet (R-RULE-6: the agent who claims gets the
// lead, in one transaction). It returns ErrClaimed when another agent was
// first.
func (r *Router) Claim(ctx context.Context, d Decision, user string) error {
	if d.Lead == nil || d.Lead.ID == 0 || d.Role == "" {
		return nil
	}
	ok, err := r.st.AssignLead(ctx, d.Lead.ID, d.Role, user, "", r.now())
	if err != nil {
		return fmt.Errorf("router: claim lead %d: %w", d.Lead.ID, err)
	}
	if !ok {
		return ErrClaimed
	}
	return nil
}

// Answered notes who answered a rotation call. When the rotation's pick
// did not answer and the next agent did, the lead goes to the agent who
// spoke with the caller: a lead follows its conversation.
func (r *Router) Answered(ctx context.Context, d Decision, user string) error {
	if d.Mode != ModeRotation || d.Lead == nil || d.Lead.ID == 0 || user == d.Username || d.Rule == nil {
		return nil
	}
	if _, err := r.st.AssignLead(ctx, d.Lead.ID, d.Role, user, d.Username, r.now()); err != nil {
		return fmt.Errorf("router: reassign lead %d: %w", d.Lead.ID, err)
	}
	return nil
}

// pickRule returns the first active rule that matches the lead at time at
// (R-RULE-1..4), or nil.
func (r *Router) pickRule(ctx context.Context, d *Decision, st directory.Settings, at time.Time) (*directory.Rule, error) {
	rules, err := r.dir.ListRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("router: rules: %w", err)
	}
	loc, err := location(st.TimeZone)
	if err != nil {
		return nil, err
	}
	wall := at.In(loc)
	if len(rules) == 0 {
		d.trace("no lead-routing rules")
		return nil, nil
	}
	for i := range rules {
		rule := &rules[i]
		switch {
		case !rule.Active && !rule.CatchAll:
			d.trace("rule %q: inactive", rule.Name)
			continue
		case len(rule.Agents) == 0:
			d.trace("rule %q: no agents", rule.Name)
			continue
		}
		if !rule.CatchAll {
			if why := mismatch(rule.Criteria, d.Lead); why != "" {
				d.trace("rule %q: %s", rule.Name, why)
				continue
			}
		}
		ok, win, err := inAnyWindow(rule.Windows, wall)
		if err != nil {
			return nil, fmt.Errorf("router: rule %q: %w", rule.Name, err)
		}
		if !ok {
			d.trace("rule %q: %s is outside its windows (%s)", rule.Name, wall.Format("Mon 15:04 MST"), win)
			continue
		}
		if rule.CatchAll {
			d.trace("rule %q (the catch-all rule) applies", rule.Name)
		} else {
			d.trace("rule %q matches (%s; window %s at %s)", rule.Name, criteriaText(rule.Criteria), win, wall.Format("Mon 15:04 MST"))
		}
		copied := *rule
		d.Rule = &copied
		return d.Rule, nil
	}
	return nil, nil
}

// distribute applies the rule: rotation, lenders, the distribution type,
// and creates or assigns the lead, all in one transaction.
func (r *Router) distribute(ctx context.Context, d *Decision, rule *directory.Rule, st directory.Settings, explain bool) error {
	dist := rule.Distribution
	if dist == directory.DistClaim || dist == directory.DistInstantCall {
		loc, err := location(st.TimeZone)
		if err != nil {
			return err
		}
		ok, err := inWindow(directory.Window{Start: st.ActionableStart, End: st.ActionableEnd}, d.At.In(loc))
		if err != nil {
			return fmt.Errorf("router: actionable window: %w", err)
		}
		if !ok {
			d.trace("%s is outside the actionable window %s-%s: %s falls back to auto-assign",
				d.At.In(loc).Format("15:04 MST"), st.ActionableStart, st.ActionableEnd, dist)
			dist = directory.DistAutoAssign
		}
	}
	agents := newRotation(rule.Agents)
	var lenders rotation
	wantLender := len(rule.Lenders) > 0 && d.Role != "lender" && d.Lead.Agents["lender"] == ""
	if wantLender {
		lenders = newRotation(rule.Lenders)
	}
	lead := *d.Lead
	lead.Agents = maps.Clone(d.Lead.Agents)
	if lead.Agents == nil {
		lead.Agents = map[string]string{}
	}
	var pick, lender string
	var order []string
	step := func(ctx context.Context, advance func(ctx context.Context, ruleID int64, pool, key string) (uint64, error)) error {
		pos, err := advance(ctx, rule.ID, PoolAgents, agents.key)
		if err != nil {
			return fmt.Errorf("router: rotation of rule %q: %w", rule.Name, err)
		}
		pick, order = agents.at(pos)
		d.trace("rotation position %d of %s: %s", pos%uint64(len(agents.slots))+1, agents.describe(rule.Agents), pick)
		if wantLender {
			lpos, err := advance(ctx, rule.ID, PoolLenders, lenders.key)
			if err != nil {
				return fmt.Errorf("router: lender rotation of rule %q: %w", rule.Name, err)
			}
			lender, _ = lenders.at(lpos)
			lead.Agents["lender"] = lender
			d.trace("lender rotation position %d of %s: %s", lpos%uint64(len(lenders.slots))+1, lenders.describe(rule.Lenders), lender)
		}
		if dist == directory.DistAutoAssign {
			lead.Agents[d.Role] = pick
		}
		return nil
	}
	if explain {
		peek := func(ctx context.Context, ruleID int64, pool, key string) (uint64, error) {
			return r.st.PeekRotation(ctx, ruleID, pool, key)
		}
		if err := step(ctx, peek); err != nil {
			return err
		}
	} else if d.LeadCreated {
		err := r.st.RouteTx(ctx, func(tx Tx) error {
			lead.ID = 0
			if err := step(ctx, tx.AdvanceRotation); err != nil {
				return err
			}
			if err := tx.CreateLead(ctx, &lead); err != nil {
				return fmt.Errorf("router: create lead: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		r.log.Info("lead created by routing", "lead", lead.ID, "rule", rule.Name, "role", d.Role, "agent", lead.Agents[d.Role])
	} else {
		if err := r.st.RouteTx(ctx, func(tx Tx) error { return step(ctx, tx.AdvanceRotation) }); err != nil {
			return err
		}
		for _, a := range [][2]string{{d.Role, lead.Agents[d.Role]}, {"lender", lender}} {
			role, user := a[0], a[1]
			if user == "" || d.Lead.Agents[role] != "" {
				continue
			}
			ok, err := r.st.AssignLead(ctx, lead.ID, role, user, "", r.now())
			if err != nil {
				return fmt.Errorf("router: assign lead %d: %w", lead.ID, err)
			}
			if !ok {
				// Assigned meanwhile by another call or a manager:
				// route again, the lead now has its agent.
				return fmt.Errorf("%w: lead %d was assigned meanwhile", directory.ErrConflict, lead.ID)
			}
		}
	}
	d.Lead = &lead
	switch dist {
	case directory.DistClaim:
		d.ring(ModeClaim, pick, order)
		d.ClaimTimeout = time.Duration(rule.ClaimTimeout) * time.Second
		d.trace("claim: offered to %s in turn, %ds each, until one presses 1", strings.Join(order, ", "), rule.ClaimTimeout)
	case directory.DistInstantCall:
		d.ring(ModeInstant, pick, order)
		d.trace("instant call: %s ring at once; the first to press 1 gets the lead", strings.Join(order, ", "))
	default:
		d.ring(ModeRotation, pick, order)
		switch {
		case explain:
			d.trace("the lead would be assigned to %s as %s agent", pick, d.Role)
		case d.Lead.ID != 0:
			d.trace("lead assigned to %s as %s agent", pick, d.Role)
		}
		if len(order) > 1 {
			d.trace("if %s does not answer: %s, then %s's voicemail", pick, strings.Join(order[1:], ", "), pick)
		}
	}
	return nil
}

// catchAll forwards to the catch-all number (R-IN-3b) and puts the caller
// in the admin inbox.
func (r *Router) catchAll(ctx context.Context, d Decision, req Request) (Decision, error) {
	ns, err := r.dir.ListNumbers(ctx, directory.NumberFilter{Kind: directory.KindCatchAll, Page: directory.Page{Limit: 1}})
	if err != nil {
		return d, fmt.Errorf("router: catch-all number: %w", err)
	}
	if len(ns) == 0 {
		d.trace("no catch-all number")
	} else {
		d.trace("forwarded to the catch-all number %s", ns[0].E164)
		d.Action, d.ForwardTo = Forward, ns[0].E164
	}
	e := &InboxEntry{At: req.At.UTC(), Kind: req.Kind, From: req.From, To: req.To, CallID: req.CallID, ForwardTo: d.ForwardTo}
	if req.Explain {
		d.trace("the caller would land in the admin inbox")
	} else {
		d.trace("the caller lands in the admin inbox")
		e.Reason = d.Short()
		if err := r.st.RouteTx(ctx, func(tx Tx) error { return tx.AddInbox(ctx, e) }); err != nil {
			return d, fmt.Errorf("router: inbox: %w", err)
		}
	}
	d.Inbox = e
	if d.Action != Forward {
		return d.reject(), nil
	}
	return d, nil
}

func (d *Decision) ring(mode Mode, user string, agents []string) {
	d.Action, d.Mode, d.Username, d.Agents = RingUser, mode, user, agents
}

// leadTypeOf is the type of a lead made by a call to a role number: buyer
// number, buyer lead; seller number, seller lead; other roles none.
func leadTypeOf(role string) directory.LeadType {
	switch role {
	case "buyer":
		return directory.LeadBuyer
	case "seller", "listing":
		return directory.LeadSeller
	}
	return ""
}

func criteriaText(c directory.Criteria) string {
	var parts []string
	add := func(name string, vs []string) {
		if len(vs) > 0 {
			parts = append(parts, name+" "+strings.Join(vs, "|"))
		}
	}
	add("source", c.Sources)
	add("tag", c.Tags)
	add("city", c.Cities)
	add("county", c.Counties)
	add("neighborhood", c.Neighborhoods)
	add("postal_code", c.PostalCodes)
	lt := make([]string, len(c.LeadTypes))
	for i, t := range c.LeadTypes {
		lt[i] = string(t)
	}
	add("lead_type", lt)
	add("region", c.Regions)
	add("property_type", c.PropertyTypes)
	add("site", c.Sites)
	if c.PriceMin != nil {
		parts = append(parts, fmt.Sprintf("price >= %d", *c.PriceMin))
	}
	if c.PriceMax != nil {
		parts = append(parts, fmt.Sprintf("price <= %d", *c.PriceMax))
	}
	if len(parts) == 0 {
		return "every lead"
	}
	return strings.Join(parts, ", ")
}

var locations sync.Map // time zone name -> *time.Location

func location(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("router: account time zone %q: %w", name, err)
	}
	locations.Store(name, l)
	return l, nil
}

func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }

func isInvalid(err error) bool {
	var v *directory.ValidationError
	return errors.As(err, &v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

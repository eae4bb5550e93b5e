package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
)

// callPlan is where a call goes: targets rung together (a user's phones),
// or one after the other (trunks, for failover), or agents offered the
// call as a lead-routing rule says.
type callPlan struct {
	parallel   []*target
	sequential []*target
	// agents are offered the call in turn (auto-assign, claim) or all at
	// once (instant call), as mode says; each agent's phones ring together.
	agents   []agentTargets
	mode     router.Mode
	decision *router.Decision
	from     caller
	username string // the agent the call is for (inbound, internal) or from (outbound)
	result   billing.Result
	code     int
	reason   string
}

// agentTargets are the phones of one agent.
type agentTargets struct {
	user    string
	targets []*target
}

// plan decides the targets of a call and fills in its record.
// to is the Request-URI user, cleaned (dialledOf).
func (s *Server) plan(ctx context.Context, c *call, p party, req *gosip.Request, to dialled) (*callPlan, error) {
	if p.trunk != nil {
		return s.planInbound(ctx, c, p.trunk, req, to)
	}
	return s.planFromUser(ctx, c, p.user, req, to)
}

// numberOf is the E.164 form of a dialled number, or the answer to one
// that is not a number: 484 when it is shorter than any number, else 404.
func (s *Server) numberOf(to dialled) (string, error) {
	if !to.number {
		return "", notDiallable("is not a phone number")
	}
	e, err := s.opts.backend.Phones.Normalize(to.value)
	switch {
	case err == nil:
		return e, nil
	case to.short():
		return "", errIncomplete
	}
	return "", notDiallable("is not a valid phone number")
}

// planInbound routes a call from a trunk to a DID.
func (s *Server) planInbound(ctx context.Context, c *call, t *Trunk, req *gosip.Request, to dialled) (*callPlan, error) {
	b := s.opts.backend
	c.rec.Direction, c.rec.Trunk = billing.Inbound, t.Name
	// A trunk calls one of the team's numbers: anything that is no valid
	// number is refused before the router looks it up.
	did, err := s.numberOf(to)
	if err != nil {
		return nil, err
	}
	// The caller, cleaned like the dialled user; one that is neither a
	// number nor a name is anonymous.
	from, display := callerOf(req)
	if e, err := b.Phones.Normalize(from); err == nil {
		from = e
	}
	c.rec.From, c.rec.To, c.rec.Dialed = truncate(from, 64), truncate(did, 64), truncate(did, 64)
	d, err := b.Router.Route(ctx, router.Request{Kind: router.KindCall, From: from, To: did, CallID: callID(req)})
	if err != nil {
		return nil, s.storeError(err)
	}
	c.rec.Route = truncate(d.Short(), 1024)
	if d.Number.E164 != "" {
		c.rec.NumberKind, c.rec.Role = string(d.Number.Kind), d.Number.Role
	}
	if d.Lead != nil {
		c.rec.LeadID = d.Lead.ID
		if d.Lead.Name != "" {
			display = d.Lead.Name
		}
	}
	plan := &callPlan{from: caller{user: from, display: display}, decision: &d, mode: d.Mode}
	switch d.Action {
	case router.RingUser:
		// R-IN-6: agents see the number the caller dialled (which line
		// rang) or the caller's own number, as the account chose; the
		// display name is the lead's.
		if st, err := b.Directory.GetSettings(ctx); err == nil && st.CallerIDMode != "lead_number" && d.Number.E164 != "" {
			plan.from.user = d.Number.E164
		}
		plan.username = d.Username
		c.rec.Username = d.Username
		if d.Mode == router.ModeDirect {
			plan.parallel, err = s.userTargets(ctx, d.Username, true)
			if err != nil {
				return nil, err
			}
		} else {
			for _, u := range d.Agents {
				ts, err := s.userTargets(ctx, u, true)
				if err != nil {
					return nil, err
				}
				if len(ts) > 0 {
					plan.agents = append(plan.agents, agentTargets{user: u, targets: ts})
				}
			}
		}
		if len(plan.parallel) == 0 && len(plan.agents) == 0 {
			plan.result, plan.code, plan.reason = billing.ResultUnavailable, 480, "No Registered Phone"
		}
	case router.Forward:
		plan.sequential = s.trunkTargets(d.ForwardTo, "")
		if len(plan.sequential) == 0 {
			plan.result, plan.code, plan.reason = billing.ResultUnavailable, 503, "No Outbound Trunk"
		}
	default:
		plan.result, plan.code, plan.reason = billing.ResultNoRoute, 404, "No Route"
	}
	return plan, nil
}

// planFromUser places a call from an agent's phone: to another agent
// (extension) or out through a trunk.
func (s *Server) planFromUser(ctx context.Context, c *call, u *directory.User, req *gosip.Request, to dialled) (*callPlan, error) {
	b := s.opts.backend
	c.rec.From, c.rec.Username = u.Username, u.Username
	plan := &callPlan{username: u.Username, from: caller{user: u.Username, display: u.Name}}
	// A name first (usernames may be all digits, "101"), then a number;
	// what cannot be a username ("+1512...") is not looked up as one.
	if peer, ok := s.sipPeer(ctx, to); ok {
		c.rec.Direction, c.rec.To = billing.Internal, peer.Username
		c.rec.Route = "internal call to user " + peer.Username
		var terr error
		plan.parallel, terr = s.userTargets(ctx, peer.Username, false)
		if terr != nil {
			return nil, terr
		}
		if len(plan.parallel) == 0 {
			plan.result, plan.code, plan.reason = billing.ResultUnavailable, 480, "No Registered Phone"
		}
		return plan, nil
	}
	c.rec.Direction = billing.Outbound
	number, err := s.numberOf(to)
	if err != nil {
		return nil, err
	}
	c.rec.To = number
	settings, err := b.Directory.GetSettings(ctx)
	if err != nil {
		return nil, s.storeError(err)
	}
	picked := ""
	if name := b.Calls.CallerIDHeader; name != "" {
		if h := req.GetHeader(name); h != nil {
			picked = strings.TrimSpace(h.Value())
			if picked == "" {
				return nil, &reply{code: 403, reason: "Caller ID Not Allowed"}
			}
		}
	}
	cid, err := s.outbound(ctx, u, settings, number, picked)
	switch {
	case errors.Is(err, router.ErrNoDialer):
		return nil, &reply{code: 403, reason: "Dialer Not Enabled", why: "user has no dialer access"}
	case errors.Is(err, router.ErrInternational):
		return nil, &reply{code: 403, reason: "International Calls Disabled"}
	case errors.Is(err, router.ErrCallerID):
		return nil, &reply{code: 403, reason: "Caller ID Not Allowed"}
	case errors.Is(err, router.ErrNoCallerID):
		return nil, &reply{code: 480, reason: "Temporarily Unavailable", why: "no caller ID number"}
	case err != nil:
		return nil, s.storeError(err)
	}
	c.rec.Dialed, c.rec.NumberKind, c.rec.Role = cid.E164, string(cid.Kind), cid.Role
	plan.from = caller{user: cid.E164, display: settings.CallerName}
	plan.sequential = s.trunkTargets(number, cid.Trunk)
	names := make([]string, 0, len(plan.sequential))
	for _, t := range plan.sequential {
		names = append(names, t.trunk.Name)
	}
	c.rec.Route = truncate(fmt.Sprintf("outbound with caller ID %s (%s); trunks in order: %s",
		cid.E164, cid.Kind, strings.Join(names, ", ")), 1024)
	if len(plan.sequential) == 0 {
		plan.result, plan.code, plan.reason = billing.ResultUnavailable, 503, "No Outbound Trunk"
	}
	return plan, nil
}

// sipPeer returns the user with a SIP login that to names, if any.
func (s *Server) sipPeer(ctx context.Context, to dialled) (directory.User, bool) {
	if !plausibleUsername(to.value) {
		return directory.User{}, false
	}
	peer, err := s.opts.backend.Directory.GetUserByUsername(ctx, to.value)
	return peer, err == nil && peer.SIP != nil
}

// outbound checks that u may call number (R-ACC-2, R-OUT-3) and picks the
// caller ID (R-NUM-6, R-OUT-2): picked, the number chosen for this call, if
// u may use it; else u's default number, else the account's default, else
// the first buyer role number. The errors are the router's (ErrNoDialer,
// ErrInternational, ErrCallerID, ErrNoCallerID) or the store's.
func (s *Server) outbound(ctx context.Context, u *directory.User, st directory.Settings, number, picked string) (directory.Number, error) {
	b := s.opts.backend
	if !mayDial(u, st) {
		return directory.Number{}, router.ErrNoDialer
	}
	if b.Phones.IsInternational(number) && !st.InternationalEnabled {
		return directory.Number{}, router.ErrInternational
	}
	if picked != "" {
		n, err := b.Directory.GetNumberByE164(ctx, picked)
		switch {
		case errors.Is(err, directory.ErrNotFound) || err == nil && !mayUse(u, n):
			return directory.Number{}, router.ErrCallerID
		case err != nil:
			return directory.Number{}, err
		}
		return n, nil
	}
	for _, e := range []string{u.DefaultNumber, st.DefaultNumber} {
		if e == "" {
			continue
		}
		n, err := b.Directory.GetNumberByE164(ctx, e)
		if err == nil && mayUse(u, n) {
			return n, nil
		}
	}
	return s.roleNumber(ctx, "buyer")
}

// roleNumber is the account's first number of role, or ErrNoCallerID.
func (s *Server) roleNumber(ctx context.Context, role string) (directory.Number, error) {
	ns, err := s.opts.backend.Directory.ListNumbers(ctx, directory.NumberFilter{Kind: directory.KindRole, Role: role, Page: directory.Page{Limit: 1}})
	if err != nil {
		return directory.Number{}, err
	}
	if len(ns) == 0 {
		return directory.Number{}, router.ErrNoCallerID
	}
	return ns[0], nil
}

// mayDial: u may place and receive dialer calls (R-ACC-2): dialer access,
// and for agents the account lets agents use the dialer.
func mayDial(u *directory.User, st directory.Settings) bool {
	return u.DialerAccess && (u.Role != directory.RoleAgent || st.AgentsDialer)
}

// mayUse: role numbers are everyone's, a personal number its owner's.
func mayUse(u *directory.User, n directory.Number) bool {
	switch n.Kind {
	case directory.KindRole:
		return true
	case directory.KindPersonal:
		return n.Owner == u.Username
	}
	return false
}

// userTargets lists the registered phones of username, and with cell the
// user's verified cell phone through the first outbound trunk.
func (s *Server) userTargets(ctx context.Context, username string, cell bool) ([]*target, error) {
	b := s.opts.backend
	cs, err := b.Contacts.ListContacts(ctx, username, b.Now())
	if err != nil {
		return nil, s.storeError(err)
	}
	var out []*target
	for _, ct := range cs {
		var uri gosip.Uri
		if err := gosip.ParseUri(ct.URI, &uri); err != nil {
			continue
		}
		transport, dest, ok := strings.Cut(ct.Source, ":")
		if !ok {
			continue
		}
		out = append(out, &target{uri: uri, dest: dest, transport: transport, username: username, to: uri})
	}
	if cell {
		u, err := b.Directory.GetUserByUsername(ctx, username)
		if err == nil && u.CellPhone != "" && u.CellVerified {
			if ts := s.trunkTargets(u.CellPhone, ""); len(ts) > 0 {
				ts[0].username = username
				out = append(out, ts[0])
			}
		}
	}
	return out, nil
}

// trunkTargets is number through each outbound trunk, in failover order.
func (s *Server) trunkTargets(number, prefer string) []*target {
	var out []*target
	for _, t := range s.opts.backend.outboundTrunks(prefer) {
		user := t.callerID(number)
		uri := gosip.Uri{Scheme: "sip", User: user, Host: t.host, Port: t.port}
		out = append(out, &target{uri: uri, transport: t.Transport, trunk: t, to: uri})
	}
	return out
}

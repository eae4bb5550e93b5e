package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
)

// leads: /api/v1/leads, filtered by ?phone= (any form, normalised by the
// service), ?agent= (username) and ?q= (part of the name). Agents see only
// the leads assigned to them (the service narrows the list). A lead
// created here runs the lead-routing rules (createLead).
func (s *Server) leads() {
	res := resource[directory.Lead]{
		s:           s,
		path:        "/api/v1/leads",
		readOnly:    readOnly,
		id:          func(l directory.Lead) int64 { return l.ID },
		version:     func(x directory.Lead) time.Time { return x.UpdatedAt },
		get:         s.svc.GetLead,
		update:      s.svc.UpdateLead,
		delete:      s.svc.DeleteLead,
		postHandler: s.createLead, // creates through the service, then routes
	}
	res.register(s.listLeads)
}

func (s *Server) listLeads(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ls, err := s.svc.ListLeads(r.Context(), directory.LeadFilter{
		Page:  p,
		Phone: q.Get("phone"),
		Agent: q.Get("agent"),
		Query: q.Get("q"),
	})
	if err != nil {
		return err
	}
	return writePage(w, r, ls, limit, func(l directory.Lead) int64 { return l.ID })
}

// createdLead is the answer of POST /api/v1/leads: the lead as stored
// after routing, and how it was routed (absent when it was not).
type createdLead struct {
	directory.Lead
	Routing *leadRouting `json:"routing,omitempty"`
}

// leadRouting says how a new lead was routed (R-RULE).
type leadRouting struct {
	// Action and Mode of the decision (ring_user with auto_assign, claim,
	// instant_call or direct; reject when no rule took it).
	Action string `json:"action,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// Rule is the name of the rule that applied; null when none did.
	Rule *string `json:"rule"`
	// Agent is the agent the lead was assigned to (auto-assign, or the
	// agent it had); absent while agents are offered it (claim, instant
	// call).
	Agent string `json:"agent,omitempty"`
	// Agents are the agents of the decision, in order: for claim and
	// instant call those called to claim the lead.
	Agents []string `json:"agents"`
	Trace  []string `json:"trace"`
	// CallRecordID is the call that offers the lead to the agents.
	CallRecordID int64 `json:"call_record_id,omitzero"`
	// Note says what was not done and why (no dialer to call the agents).
	Note string `json:"note,omitempty"`
	// Error says what failed; the lead is stored all the same.
	Error string `json:"error,omitempty"`
}

// createLead stores a lead and, unless ?route=false or the server has no
// router, runs the lead-routing rules on it: auto-assign assigns it at
// once, claim and instant call have the dialer call the agents. A routing
// failure does not undo the lead: the answer is 201 with routing.error.
func (s *Server) createLead(w http.ResponseWriter, r *http.Request) error {
	route := s.router != nil
	if v := r.URL.Query().Get("route"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badParam("route", "must be true or false")
		}
		route = route && b
	}
	var l directory.Lead
	if err := s.decodeBody(w, r, &l, readOnly...); err != nil {
		return err
	}
	l, err := s.svc.CreateLead(r.Context(), l)
	if err != nil {
		return err
	}
	out := createdLead{Lead: l}
	if route {
		out.Routing = s.routeLead(r, l.ID)
		// Show the assignment the rules made, if the caller may still see
		// the lead (an agent's lead may have gone to another agent).
		got, err := s.svc.GetLead(r.Context(), l.ID)
		switch {
		case err == nil:
			out.Lead = got
		case !errors.Is(err, directory.ErrNotFound):
			s.log.Warn("reading a routed lead", "request_id", requestID(r.Context()), "lead", l.ID, "err", err)
		}
	}
	w.Header().Set("Location", "/api/v1/leads/"+strconv.FormatInt(l.ID, 10))
	w.Header().Set("ETag", etag(out.UpdatedAt))
	return writeJSON(w, http.StatusCreated, out)
}

// routeLead routes a new lead as the gateway (not as the user who added
// it) and, for claim and instant call, has the dialer call the agents.
func (s *Server) routeLead(r *http.Request, leadID int64) *leadRouting {
	ctx := systemContext(r.Context())
	rid := requestID(r.Context())
	d, err := s.router.RouteLead(ctx, leadID, false)
	if err != nil {
		s.log.Error("routing a new lead failed; it is stored unassigned", "request_id", rid, "lead", leadID, "err", err)
		return &leadRouting{Agents: []string{}, Trace: []string{}, Error: "routing the lead failed: " + publicError(r, err)}
	}
	out := routingOf(d)
	s.log.Info("lead routed", "request_id", rid, "lead", leadID, "action", out.Action, "mode", out.Mode,
		"agents", out.Agents, "route", d.Short())
	if !offered(d) {
		return out
	}
	if s.dialer == nil {
		out.Note = "nobody was called: this server places no calls; the lead waits unassigned"
		s.log.Warn("a new lead is not offered to its agents: no dialer", "request_id", rid, "lead", leadID, "mode", out.Mode)
		return out
	}
	id, err := s.dialer.OfferLead(ctx, d)
	if err != nil {
		s.log.Error("offering a new lead to its agents failed", "request_id", rid, "lead", leadID, "err", err)
		out.Error = "calling the agents failed: " + publicError(r, err)
		return out
	}
	out.CallRecordID = id
	return out
}

// routingOf is the JSON of a lead's routing decision.
func routingOf(d router.Decision) *leadRouting {
	out := &leadRouting{Action: d.Action.String(), Agents: nonNil(d.Agents), Trace: nonNil(d.Trace)}
	if d.Action == router.RingUser {
		out.Mode = string(d.Mode)
		if !offered(d) {
			out.Agent = d.Username
		}
	}
	if d.Rule != nil {
		out.Rule = &d.Rule.Name
	}
	return out
}

// offered: the decision offers the lead to its agents by a call, the one
// who presses 1 gets it (claim, instant call); any other leaves it with an
// agent already or with nobody.
func offered(d router.Decision) bool {
	return d.Action == router.RingUser && (d.Mode == router.ModeClaim || d.Mode == router.ModeInstant)
}

// publicError is what a client may read of err (clientProblem).
func publicError(r *http.Request, err error) string {
	p, _ := clientProblem(r, err)
	return p.Detail
}

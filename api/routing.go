package api

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
)

// LeadRouter is the router as the API uses it. *router.Router implements it.
type LeadRouter interface {
	Route(ctx context.Context, req router.Request) (router.Decision, error)
	RouteLead(ctx context.Context, leadID int64, explain bool) (router.Decision, error)
}

// Dialer places calls for the API. The SIP server implements it. Both
// return once the call is set up and its call record written; ctx bounds
// only that, the call goes on after the request has been answered.
type Dialer interface {
	// ClickToCall rings the user's phones, then calls d.To (R-OUT-1).
	ClickToCall(ctx context.Context, d router.Dial) (callRecordID int64, err error)
	// OfferLead calls the agents of a claim or instant-call decision
	// about a lead created outside a call; the one who presses 1 gets the
	// lead and is connected to it (R-RULE-6).
	OfferLead(ctx context.Context, d router.Decision) (callRecordID int64, err error)
}

// WithRouter explains routing decisions (GET /api/v1/route/explain),
// routes leads created through the API (POST /api/v1/leads) and serves
// the admin inbox (/api/v1/inbox) from inbox. Without it those answer 404
// "not enabled", and new leads are stored without being routed.
func WithRouter(r LeadRouter, inbox router.Store) Option {
	return func(s *Server) { s.router, s.inbox = r, inbox }
}

// WithDialer places click-to-call calls (POST /api/v1/calls) and offers
// new leads to the agents of claim and instant-call rules. Without it
// click-to-call answers 404 "not enabled", and such leads are routed but
// nobody is called.
func WithDialer(d Dialer) Option { return func(s *Server) { s.dialer = d } }

// WithClock sets the clock that stamps what the API records itself (an
// inbox entry's done_at). Default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// routing: explaining decisions and the admin inbox (managers only).
//
//	GET  /api/v1/route/explain?from=&to=&at=&kind=  what the router would do (R-RULE-9)
//	GET  /api/v1/inbox?open=&before=&limit=         missed callers, newest first (R-IN-3b)
//	POST /api/v1/inbox/{id}/done                    mark one handled
func (s *Server) routing() {
	s.api("GET /api/v1/route/explain", s.needRouter(s.explainRoute))
	s.api("GET /api/v1/inbox", s.needRouter(s.listInbox))
	s.api("POST /api/v1/inbox/{id}/done", s.needRouter(s.doneInbox))
}

// needRouter answers "not enabled" instead of running h when the server
// has no router, and refuses agents.
func (s *Server) needRouter(h apiFunc) apiFunc {
	return needs(s.router != nil && s.inbox != nil, "routing decisions and the inbox", func(w http.ResponseWriter, r *http.Request) error {
		if !actor(r).Role.IsManager() {
			return fmt.Errorf("%w: only managers see routing decisions and the inbox", directory.ErrForbidden)
		}
		return h(w, r)
	})
}

// Explanation is the JSON of a routing decision: the answer of GET
// /api/v1/route/explain and of `teamline route --json`.
type Explanation struct {
	// Action is ring_user, forward or reject.
	Action string `json:"action"`
	// Mode is how the agents are offered a ring_user decision: direct,
	// auto_assign, claim or instant_call ("" otherwise).
	Mode string `json:"mode"`
	// Agents are the agents offered the call, in order.
	Agents []string `json:"agents"`
	// Username is whose phones ring first and whose voicemail answers.
	Username string `json:"username"`
	// ClaimTimeoutSeconds is how long each agent has to press 1 (claim).
	ClaimTimeoutSeconds int64 `json:"claim_timeout_seconds,omitzero"`
	// ForwardTo is the catch-all number of a forward.
	ForwardTo string `json:"forward_to"`
	// Number is the gateway number dialled; null when it is not the
	// account's.
	Number *ExplainedNumber `json:"number"`
	// Role is the role whose agent the lead gets.
	Role string `json:"role"`
	// Lead is the caller's lead; null for an unknown caller who does not
	// become one.
	Lead *ExplainedLead `json:"lead"`
	// LeadCreated: the caller became a lead (explained: would become one).
	LeadCreated bool `json:"lead_created"`
	// Rule is the name of the lead-routing rule that applied; null when
	// none did.
	Rule *string `json:"rule"`
	// Inbox: the caller lands (would land) in the admin inbox.
	Inbox bool `json:"inbox"`
	// At is the time the decision is made for (RFC 3339, UTC).
	At time.Time `json:"at,omitzero"`
	// Trace is the decision step by step.
	Trace []string `json:"trace"`
	// Text is the trace and the outcome as lines of text.
	Text string `json:"text"`
}

// ExplainedNumber is the dialled number of an Explanation.
type ExplainedNumber struct {
	Number string `json:"number"`
	Kind   string `json:"kind"`
	Role   string `json:"role,omitempty"`
}

// ExplainedLead is the lead of an Explanation.
type ExplainedLead struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Explain turns a decision into its JSON.
func Explain(d router.Decision) Explanation {
	e := Explanation{
		Action:              d.Action.String(),
		Agents:              nonNil(d.Agents),
		Username:            d.Username,
		ClaimTimeoutSeconds: int64(d.ClaimTimeout / time.Second),
		ForwardTo:           d.ForwardTo,
		Role:                d.Role,
		LeadCreated:         d.LeadCreated,
		Inbox:               d.Inbox != nil,
		At:                  utcOrZero(d.At),
		Trace:               nonNil(d.Trace),
		Text:                d.Explain(),
	}
	if d.Action == router.RingUser {
		e.Mode = string(d.Mode)
	}
	if d.Number.E164 != "" {
		e.Number = &ExplainedNumber{Number: d.Number.E164, Kind: string(d.Number.Kind), Role: d.Number.Role}
	}
	if d.Lead != nil {
		e.Lead = &ExplainedLead{ID: d.Lead.ID, Name: d.Lead.Name}
	}
	if d.Rule != nil {
		e.Rule = &d.Rule.Name
	}
	return e
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// explainRoute runs the router on a call or text that did not happen:
// nothing is created or advanced (Request.Explain).
func (s *Server) explainRoute(w http.ResponseWriter, r *http.Request) error {
	req, err := s.explainRequest(r)
	if err != nil {
		return err
	}
	d, err := s.router.Route(systemContext(r.Context()), req)
	if err != nil {
		return err
	}
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(d.Explain()))
		return nil
	}
	return writeJSON(w, http.StatusOK, Explain(d))
}

// explainRequest reads ?from=&to=&at=&kind=. to must be a phone number;
// from is normalised when it is one and passed on as it is otherwise
// (anonymous and SIP-only callers), as the SIP side does.
func (s *Server) explainRequest(r *http.Request) (router.Request, error) {
	q := r.URL.Query()
	req := router.Request{Kind: router.KindCall, Explain: true}
	switch k := router.Kind(q.Get("kind")); k {
	case "", router.KindCall:
	case router.KindText:
		req.Kind = k
	default:
		return req, badParam("kind", fmt.Sprintf("must be %q or %q", router.KindCall, router.KindText))
	}
	to := strings.TrimSpace(q.Get("to"))
	if to == "" {
		return req, badParam("to", "is required: the team's number that was called or texted")
	}
	var err error
	if req.To, err = s.svc.NormalizePhone(to); err != nil {
		return req, badParam("to", "is not a phone number: "+detailOf(err, directory.ErrBadPhone))
	}
	req.From = strings.TrimSpace(q.Get("from"))
	if e, err := s.svc.NormalizePhone(req.From); err == nil {
		req.From = e
	}
	// Absent: zero, the router's own clock.
	if req.At, err = timeParam(q, "at"); err != nil {
		return req, err
	}
	return req, nil
}

// wantsText reports whether the client prefers text/plain to JSON
// (RFC 9110 12.5.1; equal preference: JSON).
func wantsText(r *http.Request) bool {
	textQ, jsonQ := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "text/plain":
			textQ = max(textQ, q)
		case "application/json", "application/*", "*/*":
			jsonQ = max(jsonQ, q)
		}
	}
	return textQ > 0 && textQ > jsonQ
}

// inboxList is the body of GET /api/v1/inbox: a page of entries, newest
// first, and how many entries are not yet done.
type inboxList struct {
	list[router.InboxEntry]
	OpenCount int64 `json:"open_count"`
}

// listInbox lists the inbox newest first. Pages go back in time: "next"
// (and the Link header) is the cursor to pass as ?before= for older
// entries.
func (s *Server) listInbox(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := router.InboxFilter{Limit: limit + 1}
	if v := q.Get("before"); v != "" {
		before, ok := decodeCursor(v)
		if !ok || before < 1 {
			return badParam("before", "is not a cursor of this list; use the \"next\" value of the previous page")
		}
		f.Before = before
	}
	if v := q.Get("open"); v != "" {
		if f.OpenOnly, err = strconv.ParseBool(v); err != nil {
			return badParam("open", "must be true or false")
		}
	}
	es, err := s.inbox.ListInbox(r.Context(), f)
	if err != nil {
		return err
	}
	open, err := s.inbox.CountInbox(r.Context())
	if err != nil {
		return err
	}
	for i := range es {
		es[i].At, es[i].DoneAt = utcOrZero(es[i].At), utcOrZero(es[i].DoneAt)
	}
	page := pageList(w, r, "before", es, limit, func(e router.InboxEntry) string { return encodeCursor(e.ID) })
	return writeJSON(w, http.StatusOK, inboxList{list: page, OpenCount: open})
}

// doneInbox marks an entry handled by the caller.
func (s *Server) doneInbox(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.inbox.DoneInbox(r.Context(), id, actor(r).Username, s.now().UTC()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// systemContext is ctx as the gateway's own: its deadline, cancellation
// and request id, but no acting user. Routing and placing calls are the
// gateway's work, not the user's: the router must see the lead it routes
// even when the agent who added it may not see it any more.
func systemContext(ctx context.Context) context.Context { return sysCtx{ctx} }

type sysCtx struct{ parent context.Context }

func (c sysCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c sysCtx) Done() <-chan struct{}       { return c.parent.Done() }
func (c sysCtx) Err() error                  { return c.parent.Err() }
func (c sysCtx) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return c.parent.Value(key)
	}
	return nil
}

package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
)

// calls: GET /api/v1/calls and /api/v1/calls/{id}, the call records
// (R-BILL-1), read-only. Managers see every call; an agent sees only the
// calls whose user is the agent. Without WithCallRecords both answer 404.
// POST /api/v1/calls places a click-to-call call (R-OUT-1, clicktocall.go);
// without WithDialer it answers 404.
func (s *Server) calls() {
	records := s.callRecords != nil
	s.api("GET /api/v1/calls", needs(records, "call records", s.listCalls))
	s.api("POST /api/v1/calls", needs(s.dialer != nil, "calls placed through the API", s.placeCall))
	s.api("GET /api/v1/calls/{id}", needs(records, "call records", s.getCall))
}

// callRecord is the JSON of a billing.CallRecord.
type callRecord struct {
	ID              int64             `json:"id"`
	CallID          string            `json:"call_id"`
	Direction       billing.Direction `json:"direction"`
	From            string            `json:"from"`
	To              string            `json:"to"`
	Dialed          string            `json:"dialed"`
	NumberKind      string            `json:"number_kind"`
	Role            string            `json:"role"`
	User            string            `json:"user"`
	LeadID          int64             `json:"lead_id,omitzero"`
	Trunk           string            `json:"trunk"`
	Route           string            `json:"route"`
	Start           time.Time         `json:"start"`
	Answer          time.Time         `json:"answer,omitzero"`
	End             time.Time         `json:"end,omitzero"`
	Result          billing.Result    `json:"result"`
	SIPCode         int               `json:"sip_code"`
	SIPReason       string            `json:"sip_reason"`
	DurationSeconds int64             `json:"duration_seconds"`
	// How the parties were told of the recording ("played",
	// "skipped:one-party:TX"), when, and the recording: absent when none.
	Consent     string    `json:"consent,omitzero"`
	ConsentAt   time.Time `json:"consent_at,omitzero"`
	RecordingID int64     `json:"recording_id,omitzero"`
}

func callJSON(r billing.CallRecord) callRecord {
	return callRecord{
		ID:              r.ID,
		CallID:          r.CallID,
		Direction:       r.Direction,
		From:            r.From,
		To:              r.To,
		Dialed:          r.Dialed,
		NumberKind:      r.NumberKind,
		Role:            r.Role,
		User:            r.Username,
		LeadID:          r.LeadID,
		Trunk:           r.Trunk,
		Route:           r.Route,
		Start:           r.Start.UTC(),
		Answer:          utcOrZero(r.Answer),
		End:             utcOrZero(r.End),
		Result:          r.Result,
		SIPCode:         r.SIPCode,
		SIPReason:       r.SIPReason,
		DurationSeconds: int64(r.Duration() / time.Second),
		Consent:         r.Consent,
		ConsentAt:       utcOrZero(r.ConsentAt),
		RecordingID:     r.RecordingID,
	}
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// notEnabled answers for the endpoints whose source of data the server
// was not given.
func notEnabled(what string) *Problem {
	return newProblem(http.StatusNotFound, "not-enabled", what+" are not enabled on this server")
}

// needs is h when the server was given what h needs (ok), and otherwise a
// handler answering notEnabled(what). The options are applied before the
// routes are registered, so this is decided once.
func needs(ok bool, what string, h apiFunc) apiFunc {
	if ok {
		return h
	}
	return func(http.ResponseWriter, *http.Request) error { return notEnabled(what) }
}

// callVisible: managers see every call, an agent only their own.
func callVisible(a directory.Actor, c billing.CallRecord) bool {
	return a.Role.IsManager() || c.Username == a.Username
}

// callFilter reads the query of GET /api/v1/calls. An agent's filter is
// narrowed to the agent's own calls (userParam).
func callFilter(r *http.Request) (f billing.CallFilter, limit int, err error) {
	p, limit, err := pageOf(r)
	if err != nil {
		return f, 0, err
	}
	f.After, f.Limit = p.After, p.Limit
	q := r.URL.Query()
	f.Username = userParam(r)
	if f.Since, f.Until, err = timeRange(q, "since", "until"); err != nil {
		return f, 0, err
	}
	if v := q.Get("open"); v != "" {
		if f.Open, err = strconv.ParseBool(v); err != nil {
			return f, 0, badParam("open", "must be true or false")
		}
	}
	return f, limit, nil
}

// userParam is the user a list is narrowed to: ?user= for a manager, the
// agent's own username for an agent whatever ?user= says.
func userParam(r *http.Request) string {
	if a := actor(r); !a.Role.IsManager() {
		return a.Username
	}
	return strings.ToLower(strings.TrimSpace(r.URL.Query().Get("user")))
}

// timeRange reads the RFC 3339 bounds of a list from the parameters from
// (inclusive) and to (exclusive); to must be later than from when both are
// given.
func timeRange(q url.Values, from, to string) (start, end time.Time, err error) {
	if start, err = timeParam(q, from); err != nil {
		return start, end, err
	}
	if end, err = timeParam(q, to); err != nil {
		return start, end, err
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return start, end, badParam(to, fmt.Sprintf("must be later than %q", from))
	}
	return start, end, nil
}

// timeParam reads an RFC 3339 time from the query; absent is zero.
func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil && strings.Contains(v, " ") {
		// An unencoded "+" of a zone offset arrives as a space.
		t, err = time.Parse(time.RFC3339, strings.ReplaceAll(v, " ", "+"))
	}
	// The years both databases compare (a zone can move year 1 to year 0).
	if t = t.UTC(); err != nil || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, badParam(name, "must be an RFC 3339 time such as \"2025-01-31T09:00:00Z\"")
	}
	return t, nil
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) error {
	f, limit, err := callFilter(r)
	if err != nil {
		return err
	}
	rs, err := s.callRecords.ListCallRecords(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]callRecord, len(rs))
	for i, c := range rs {
		out[i] = callJSON(c)
	}
	return writePage(w, r, out, limit, func(c callRecord) int64 { return c.ID })
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.callRecords.GetCallRecord(r.Context(), id)
	if err != nil {
		return err
	}
	if !callVisible(actor(r), c) {
		// Hidden like a missing record, as the service hides leads.
		return fmt.Errorf("%w: call record %d", directory.ErrNotFound, id)
	}
	return writeJSON(w, http.StatusOK, callJSON(c))
}

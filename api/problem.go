package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
)

// statusClientClosed records a request whose client went away before the
// answer (nginx's 499; not a registered status).
const statusClientClosed = 499

// problemBase prefixes the type URIs of Teamline's own problem types.
const problemBase = "https://teamline.dev/problems/"

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Detail string                 `json:"detail,omitempty"`
	Errors []directory.FieldError `json:"errors,omitempty"`
	// AttemptsLeft is how many more codes may be tried (a wrong cell
	// phone verification code).
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// retryAfter is sent as Retry-After, in seconds (429).
	retryAfter int64
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// newProblem makes a problem of one of Teamline's types (slug "" means
// about:blank, whose title is the status text, RFC 9457 section 4.2.1).
func newProblem(status int, slug, detail string, fields ...directory.FieldError) *Problem {
	p := &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
	if slug != "" {
		p.Type = problemBase + slug
	}
	return p
}

// badParam is a 400 for a wrong path or query parameter.
func badParam(name, detail string) *Problem {
	return newProblem(http.StatusBadRequest, "bad-parameter", fmt.Sprintf("parameter %q %s", name, detail),
		directory.FieldError{Field: name, Detail: detail})
}

// problemFor maps any error of a handler, the service or the store to the
// problem the client sees. It is the one place errors become statuses. The
// second result is false for errors the client must not see the text of
// (they become a generic 500).
func problemFor(err error) (*Problem, bool) {
	var p *Problem
	var ve *directory.ValidationError
	var mbe *http.MaxBytesError
	var wrong *directory.WrongCodeError
	var later *directory.RetryAfterError
	if errors.As(err, &p) {
		return p, true
	}
	for _, rp := range routerProblems {
		if errors.Is(err, rp.err) {
			return newProblem(rp.status, rp.slug, rp.detail), true
		}
	}
	switch {
	case errors.As(err, &wrong):
		left := max(0, wrong.AttemptsLeft)
		p := newProblem(http.StatusUnprocessableEntity, "wrong-code", wrong.Error(),
			directory.FieldError{Field: "code", Detail: "is not the code sent"})
		p.AttemptsLeft = &left
		return p, true
	case errors.As(err, &later):
		p := newProblem(http.StatusTooManyRequests, "too-many-requests", later.Error())
		p.retryAfter = later.Seconds()
		return p, true
	case errors.Is(err, directory.ErrCodeNotSent):
		return newProblem(http.StatusBadGateway, "code-not-sent", "the text with the code could not be sent; try again later"), true
	case errors.As(err, &ve):
		if ve.Conflict {
			return newProblem(http.StatusConflict, "conflict", "invalid "+ve.Object+": conflicts with existing data", ve.Fields...), true
		}
		return newProblem(http.StatusUnprocessableEntity, "validation", "invalid "+ve.Object, ve.Fields...), true
	case errors.As(err, &mbe):
		return newProblem(http.StatusRequestEntityTooLarge, "body-too-large",
			fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit)), true
	case errors.Is(err, directory.ErrUnauthenticated):
		return newProblem(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required"), true
	case errors.Is(err, directory.ErrForbidden):
		return newProblem(http.StatusForbidden, "forbidden", detailOf(err, directory.ErrForbidden)), true
	case errors.Is(err, directory.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", detailOf(err, directory.ErrNotFound)), true
	case errors.Is(err, directory.ErrUnavailable):
		return newProblem(http.StatusServiceUnavailable, "busy", detailOf(err, directory.ErrUnavailable)), true
	case errors.Is(err, directory.ErrConflict):
		return newProblem(http.StatusConflict, "conflict", detailOf(err, directory.ErrConflict)), true
	case errors.Is(err, context.DeadlineExceeded):
		return newProblem(http.StatusServiceUnavailable, "", "the request took too long; try again"), false
	}
	return newProblem(http.StatusInternalServerError, "", "internal error"), false
}

// routerProblems are the problems of outbound calls (R-OUT, R-ACC) and
// claims: the router's sentinels, told without the context the dialer
// wrapped them in. problemFor tries them in this order.
var routerProblems = []struct {
	err          error
	status       int
	slug, detail string
}{
	{router.ErrNoDialer, http.StatusForbidden, "forbidden", routerText(router.ErrNoDialer)},
	{router.ErrCallerID, http.StatusForbidden, "forbidden", routerText(router.ErrCallerID)},
	{router.ErrInternational, http.StatusForbidden, "forbidden", routerText(router.ErrInternational)},
	{router.ErrNoCallerID, http.StatusConflict, "no-caller-id", "the account has no number to call from; add a buyer role number or set a default number"},
	{router.ErrUnavailable, http.StatusConflict, "unavailable", "agent has no registered phone"},
	{router.ErrClaimed, http.StatusConflict, "claimed", routerText(router.ErrClaimed)},
}

// routerText is the text of a router sentinel without its package
// prefix ("router: no number to call from" -> "no number to call from").
func routerText(sentinel error) string { return strings.TrimPrefix(sentinel.Error(), "router: ") }

// detailOf is the message of a wrapped sentinel without the sentinel's own
// text ("forbidden: only managers may add users" -> "only managers may add
// users").
func detailOf(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// fail writes the problem for err. Errors whose text must not reach the
// client are logged with the request id, which the client can quote.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away (the server cancels the context when the
		// connection drops): nobody reads the answer, and it is no server
		// error for logs and 5xx alerts. 499 as nginx logs it.
		writeProblem(w, &Problem{Type: "about:blank", Title: "Client Closed Request", Status: statusClientClosed,
			Detail: "the client closed the request"})
		return
	}
	p, public := clientProblem(r, err)
	if !public {
		s.log.Error("request failed", "request_id", requestID(r.Context()), "method", r.Method, "route", routeOf(r.Context()), "err", err)
	}
	writeProblem(w, p)
}

// clientProblem is problemFor(err) as the client of r reads it: an error
// whose text must not be shown (public false) says which request id to
// quote instead.
func clientProblem(r *http.Request, err error) (p *Problem, public bool) {
	p, public = problemFor(err)
	if !public {
		p.Detail += "; quote request id " + requestID(r.Context()) + " when reporting it"
	}
	return p, public
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(p.retryAfter, 10)) // RFC 9110 10.2.3
	}
	if p.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
		// Busy or slow database: worth trying again shortly (RFC 9110 10.2.3).
		h.Set("Retry-After", "1")
	}
	if p.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="teamline"`)
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

package api

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

// tokens: /api/v1/tokens. The secret is in the POST response only; the
// service keeps a hash of it.
func (s *Server) tokens() {
	s.api("GET /api/v1/tokens", s.listTokens)
	s.api("POST /api/v1/tokens", s.createToken)
	s.api("GET /api/v1/tokens/{id}", s.getToken)
	s.api("DELETE /api/v1/tokens/{id}", s.deleteToken)
}

// tokenRequest is the POST body. User defaults to the caller; ExpiresIn is
// a Go duration ("720h") or whole days ("30d"); empty = no expiry.
type tokenRequest struct {
	User      string `json:"user"`
	Name      string `json:"name"`
	ExpiresIn string `json:"expires_in"`
}

// newToken is the POST response: the token and, this once, its secret.
type newToken struct {
	directory.Token
	Secret string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeInto(body, &req); err != nil {
		return err
	}
	ttl, ok := parseTTL(req.ExpiresIn)
	if !ok {
		return &directory.ValidationError{Object: "token", Fields: []directory.FieldError{{
			Field: "expires_in", Detail: `must be a positive duration such as "720h" or "30d"`}}}
	}
	if strings.TrimSpace(req.User) == "" {
		req.User = actor(r).Username
	}
	t, secret, err := s.svc.CreateToken(r.Context(), req.User, req.Name, ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tokens/"+strconv.FormatInt(t.ID, 10))
	return writeJSON(w, http.StatusCreated, newToken{Token: t, Secret: secret})
}

// parseTTL reads expires_in; "" is no expiry (0).
func parseTTL(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*366 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// allTokens lists the tokens the caller may see, ordered by ID.
func (s *Server) allTokens(r *http.Request) ([]directory.Token, error) {
	ts, err := s.svc.ListTokens(r.Context())
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ts, func(a, b directory.Token) int { return cmp.Compare(a.ID, b.ID) })
	return ts, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	ts, err := s.allTokens(r)
	if err != nil {
		return err
	}
	id := func(t directory.Token) int64 { return t.ID }
	return writePage(w, r, pageSlice(ts, p, id), limit, id)
}

// getToken shows one token (the POST's Location), among those the caller
// may list.
func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ts, err := s.allTokens(r)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id {
			return writeJSON(w, http.StatusOK, t)
		}
	}
	return newProblem(http.StatusNotFound, "not-found", "token "+strconv.FormatInt(id, 10))
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

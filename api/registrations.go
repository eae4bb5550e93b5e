package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/teamline/teamline/directory"
)

// registrations: GET /api/v1/users/{id}/registrations, the user's devices
// registered now (the location service), read-only. Managers see anyone's;
// an agent only their own, and another user's answer 404 like a hidden
// lead. Without WithContacts it answers 404.
func (s *Server) registrations() {
	s.api("GET /api/v1/users/{id}/registrations", needs(s.contacts != nil, "registrations", s.listRegistrations))
}

// registration is the JSON of a directory.Contact.
type registration struct {
	URI       string    `json:"uri"`
	Source    string    `json:"source"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
	Node      string    `json:"node"`
	id        int64     // the contact's: the page cursor, not shown
}

func (s *Server) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	u, p, limit, err := s.userPage(r)
	if err != nil {
		return err
	}
	cs, err := s.contacts.ListContacts(r.Context(), u.Username, time.Now())
	if err != nil {
		return err
	}
	cs = pageSlice(cs, p, func(c directory.Contact) int64 { return c.ID })
	out := make([]registration, len(cs))
	for i, c := range cs {
		out[i] = registration{URI: c.URI, Source: c.Source, UserAgent: c.UserAgent, Expires: c.Expires.UTC(), Node: c.Node, id: c.ID}
	}
	return writePage(w, r, out, limit, func(reg registration) int64 { return reg.id })
}

// userPage reads the user of a /users/{id}/... listing and the page asked
// for. Managers may read anyone's; an agent only their own, and another
// user's answers 404 like a user that does not exist.
func (s *Server) userPage(r *http.Request) (u directory.User, p directory.Page, limit int, err error) {
	id, err := pathID(r)
	if err != nil {
		return u, p, 0, err
	}
	if p, limit, err = pageOf(r); err != nil {
		return u, p, 0, err
	}
	if a := actor(r); !a.Role.IsManager() && a.UserID != id {
		return u, p, 0, fmt.Errorf("%w: user %d", directory.ErrNotFound, id)
	}
	u, err = s.svc.GetUser(r.Context(), id)
	return u, p, limit, err
}

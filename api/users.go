package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/teamline/teamline/directory"
)

// users: /api/v1/users. sip_password is write-only; sip_enabled is
// computed and ignored on input.
func (s *Server) users() {
	res := resource[directory.User]{
		s:        s,
		path:     "/api/v1/users",
		readOnly: slices.Concat(readOnly, []string{"sip_enabled"}),
		id:       func(u directory.User) int64 { return u.ID },
		version:  func(x directory.User) time.Time { return x.UpdatedAt },
		get:      s.svc.GetUser,
		create:   s.svc.CreateUser,
		update:   s.svc.UpdateUser,
		delete:   s.svc.DeleteUser,
	}
	res.register(s.listUsers)
	// More specific than /{id}, so the mux prefers it.
	s.api("GET /api/v1/users/me", s.me)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	us, err := s.svc.ListUsers(r.Context(), p)
	if err != nil {
		return err
	}
	return writePage(w, r, us, limit, func(u directory.User) int64 { return u.ID })
}

// me returns the caller's own user.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.GetUser(r.Context(), actor(r).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

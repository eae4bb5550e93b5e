package api

import (
	"net/http"
	"time"

	"github.com/teamline/teamline/directory"
)

// numbers: /api/v1/numbers, filtered by ?kind=, ?role= and ?owner=.
func (s *Server) numbers() {
	res := resource[directory.Number]{
		s:        s,
		path:     "/api/v1/numbers",
		readOnly: readOnly,
		id:       func(n directory.Number) int64 { return n.ID },
		version:  func(x directory.Number) time.Time { return x.UpdatedAt },
		get:      s.svc.GetNumber,
		create:   s.svc.CreateNumber,
		update:   s.svc.UpdateNumber,
		delete:   s.svc.DeleteNumber,
	}
	res.register(s.listNumbers)
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ns, err := s.svc.ListNumbers(r.Context(), directory.NumberFilter{
		Page:  p,
		Kind:  directory.NumberKind(q.Get("kind")),
		Role:  q.Get("role"),
		Owner: q.Get("owner"),
	})
	if err != nil {
		return err
	}
	return writePage(w, r, ns, limit, func(n directory.Number) int64 { return n.ID })
}

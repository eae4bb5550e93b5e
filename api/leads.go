package api

import (
	"net/http"
	"time"

	"github.com/teamline/teamline/directory"
)

// leads: /api/v1/leads, filtered by ?phone= (any form, normalised by the
// service), ?agent= (username) and ?q= (part of the name). Agents see only
// the leads assigned to them (the service narrows the list).
func (s *Server) leads() {
	res := resource[directory.Lead]{
		s:        s,
		path:     "/api/v1/leads",
		readOnly: readOnly,
		id:       func(l directory.Lead) int64 { return l.ID },
		version:  func(x directory.Lead) time.Time { return x.UpdatedAt },
		get:      s.svc.GetLead,
		create:   s.svc.CreateLead,
		update:   s.svc.UpdateLead,
		delete:   s.svc.DeleteLead,
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

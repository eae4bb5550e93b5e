package api

import (
	"net/http"

	"github.com/teamline/teamline/directory"
)

// rules: /api/v1/rules, listed in evaluation order (R-RULE-1). "position"
// is writable: 0 or absent on POST appends before the catch-all, n puts the
// rule at position n, and a changed position on PATCH moves the rule.
func (s *Server) rules() {
	res := resource[directory.Rule]{
		s:        s,
		path:     "/api/v1/rules",
		readOnly: readOnly,
		id:       func(r directory.Rule) int64 { return r.ID },
		get:      s.svc.GetRule,
		create:   s.svc.CreateRule,
		update:   s.svc.UpdateRule,
		delete:   s.svc.DeleteRule,
	}
	res.register(s.listRules)
}

// listRules pages the ordered rules with the position as the cursor key.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := pageOf(r)
	if err != nil {
		return err
	}
	all, err := s.svc.ListRules(r.Context())
	if err != nil {
		return err
	}
	pos := func(r directory.Rule) int64 { return int64(r.Position) }
	return writePage(w, r, pageSlice(all, p, pos), limit, pos)
}

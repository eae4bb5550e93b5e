package api

import "net/http"

// settings: GET and PATCH /api/v1/settings. Who may change what (managers;
// caller_name the primary manager alone) is the service's decision.
func (s *Server) settings() {
	s.api("GET /api/v1/settings", s.getSettings)
	s.api("PATCH /api/v1/settings", s.patchSettings)
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.GetSettings(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(st.UpdatedAt))
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	st, err := s.svc.GetSettings(r.Context())
	if err != nil {
		return err
	}
	if err := ifMatch(r, st.UpdatedAt); err != nil {
		return err
	}
	if err := decodeInto(body, &st, "updated_at"); err != nil {
		return err
	}
	if st, err = s.svc.UpdateSettings(r.Context(), st); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(st.UpdatedAt))
	return writeJSON(w, http.StatusOK, st)
}

package api

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds the database ping of /healthz, so a hung database
// makes the check fail rather than hang.
const healthTimeout = 2 * time.Second

// healthz: 200 while the database answers, 503 otherwise. No
// authentication: load balancers and probes call it.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		s.log.Warn("health check: database unreachable", "request_id", requestID(r.Context()), "err", err)
		return newProblem(http.StatusServiceUnavailable, "unavailable", "the database is unreachable")
	}
	body := map[string]string{"status": "ok"}
	if s.version != "" {
		body["version"] = s.version
	}
	return writeJSON(w, http.StatusOK, body)
}

package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/teamline/teamline/directory"
)

// authenticate admits requests with a valid bearer token (RFC 6750 section
// 2.1) and puts the token's user in the context as the directory actor.
// Tokens are read from the Authorization header only: never from the query
// (they would end up in access logs and browser history).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.fail(w, r, directory.ErrUnauthenticated)
			return
		}
		a, err := s.svc.Authenticate(r.Context(), secret)
		if err != nil {
			if errors.Is(err, directory.ErrUnauthenticated) {
				// RFC 6750 section 3.1.
				w.Header().Set("WWW-Authenticate", `Bearer realm="teamline", error="invalid_token"`)
			}
			s.fail(w, r, err)
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.user = a.Username
		}
		next.ServeHTTP(w, r.WithContext(directory.WithActor(r.Context(), a)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110 section 11.1).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// actor is the authenticated user of a request behind authenticate.
func actor(r *http.Request) directory.Actor {
	a, _ := directory.ActorFrom(r.Context())
	return a
}

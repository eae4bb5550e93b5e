package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// maxRequestIDLen bounds a client-given X-Request-Id.
const maxRequestIDLen = 128

// requestInfo is what the middleware learns about a request while the
// handlers run: the matched route and the authenticated user.
type requestInfo struct {
	id    string
	route string // mux pattern; "" when no route matched
	user  string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// requestID is the request's X-Request-Id.
func requestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

func routeOf(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.route
	}
	return ""
}

// middleware wraps the mux: request id, security headers, problem
// documents for unrouted requests, panic recovery, one log line and the
// metrics per request.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: incomingRequestID(r)}
		h := w.Header()
		h.Set("X-Request-Id", info.id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		sw := &statusWriter{ResponseWriter: w, info: info}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", info.id, "method", r.Method,
					"route", info.route, "panic", v, "stack", string(debug.Stack()))
				if !sw.wrote {
					s.fail(sw, r, errors.New("panic"))
				}
			}
			d := time.Since(start)
			s.metrics.observe(info.route, r.Method, sw.status, d)
			// The path only: queries may carry lead phone numbers and names.
			level := slog.LevelInfo
			if sw.status < 400 && (info.route == "GET /healthz" || info.route == "GET /metrics") {
				// Probes and scrapes come every few seconds; their successes
				// would drown the log.
				level = slog.LevelDebug
			}
			s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "route", info.route,
				"status", sw.status, "duration", d, "bytes", sw.bytes, "request_id", info.id, "user", info.user)
		}()
		next.ServeHTTP(sw, r)
		if !sw.wrote {
			sw.WriteHeader(http.StatusOK)
		}
	})
}

// incomingRequestID keeps a sane client-given request id (so a proxy's id
// ties its logs to ours) or makes a new one.
func incomingRequestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if id != "" && len(id) <= maxRequestIDLen && printableToken(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// printableToken: letters, digits and - _ . : only, so the id is safe in
// headers and logs.
func printableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

// statusWriter records the status and size of a response. When no route
// matched, it replaces the mux's plain-text 404 and 405 with problem
// documents.
type statusWriter struct {
	http.ResponseWriter
	info    *requestInfo
	status  int
	bytes   int64
	wrote   bool
	swallow bool // the mux's own error body is dropped
}

func (w *statusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote, w.status = true, code
	if w.info.route == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.swallow = true
		w.Header().Del("Content-Length")
		p := newProblem(code, "", "no such resource")
		if code == http.StatusMethodNotAllowed {
			p.Detail = "method not allowed; allowed: " + w.Header().Get("Allow")
		}
		writeProblem(w.ResponseWriter, p)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

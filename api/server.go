package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/router"
)

// DefaultMaxBodyBytes bounds a request body unless WithMaxBodyBytes says
// otherwise.
const DefaultMaxBodyBytes int64 = 1 << 20

// Server serves the HTTP API over a directory service, and the call
// records and registrations when given them.
type Server struct {
	svc         *directory.Service
	callRecords billing.CallRecords // nil: /api/v1/calls answers 404
	contacts    directory.Contacts  // nil: /api/v1/users/{id}/registrations answers 404
	recordings  Recordings          // nil: /api/v1/recordings... and /api/v1/users/{id}/voicemail answer 404
	recIndex    recording.Store     // set with recordings
	router      LeadRouter          // nil: explain and inbox answer 404, leads are not routed
	inbox       router.Store        // set with router
	dialer      Dialer              // nil: POST /api/v1/calls answers 404, offers are not made
	cellCodes   directory.CellCodes // nil: cell phone verification answers 404
	codeSender  directory.CodeSender
	now         func() time.Time
	log         *slog.Logger
	maxBody     int64
	gatherer    prometheus.Gatherer
	reg         prometheus.Registerer
	version     string
	timeout     time.Duration
	metrics     *metrics
	mux         *http.ServeMux
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMaxBodyBytes bounds request bodies (default 1 MiB); larger ones get 413.
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithGatherer sets what /metrics exposes (default prometheus.DefaultGatherer).
func WithGatherer(g prometheus.Gatherer) Option { return func(s *Server) { s.gatherer = g } }

// WithRegisterer registers the HTTP metrics (teamline_http_requests_total,
// teamline_http_request_duration_seconds) with r. Without it they are
// counted but registered nowhere.
func WithRegisterer(r prometheus.Registerer) Option { return func(s *Server) { s.reg = r } }

// DefaultRequestTimeout bounds the work of one request.
const DefaultRequestTimeout = 30 * time.Second

// WithRequestTimeout bounds how long one request may take (default 30 s):
// its context ends then, so a hung database costs a 503, not a goroutine
// and a connection held forever.
func WithRequestTimeout(d time.Duration) Option { return func(s *Server) { s.timeout = d } }

// WithCallRecords serves the call records (GET /api/v1/calls) from cr;
// without it those endpoints answer 404 "not enabled".
func WithCallRecords(cr billing.CallRecords) Option { return func(s *Server) { s.callRecords = cr } }

// WithContacts serves the users' current registrations (GET
// /api/v1/users/{id}/registrations) from c; without it that endpoint
// answers 404 "not enabled".
func WithContacts(c directory.Contacts) Option { return func(s *Server) { s.contacts = c } }

// WithRecordings serves the recordings and voicemail (GET
// /api/v1/recordings..., GET /api/v1/users/{id}/voicemail): their files
// and the actions on them through r, the listings through the index st.
// Without it those endpoints answer 404 "not enabled".
func WithRecordings(r Recordings, st recording.Store) Option {
	return func(s *Server) { s.recordings, s.recIndex = r, st }
}

// WithVersion sets the version /healthz reports.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// New returns a Server over svc.
func New(svc *directory.Service, opts ...Option) *Server {
	s := &Server{
		svc:      svc,
		log:      slog.New(slog.DiscardHandler),
		maxBody:  DefaultMaxBodyBytes,
		timeout:  DefaultRequestTimeout,
		gatherer: prometheus.DefaultGatherer,
		now:      time.Now,
		mux:      http.NewServeMux(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.timeout <= 0 {
		s.timeout = DefaultRequestTimeout
	}
	s.metrics = newMetrics(s.reg, s.log)
	s.routes()
	return s
}

// Handler returns the HTTP handler: every route behind the request-id,
// logging, metrics and recovery middleware.
func (s *Server) Handler() http.Handler { return s.middleware(s.mux) }

// routes registers every endpoint. Patterns are the route label of the
// metrics, so they never carry raw paths.
func (s *Server) routes() {
	s.open("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.tag("GET /metrics",
		promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s.log}})))

	s.users()
	s.numbers()
	s.leads()
	s.rules()
	s.settings()
	s.tokens()
	s.calls()
	s.registrations()
	s.recordingRoutes()
	s.routing()
	s.cellPhone()
}

// apiFunc is an API handler; a returned error becomes a problem document.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// open registers a handler that needs no authentication.
func (s *Server) open(pattern string, h apiFunc) {
	s.mux.Handle(pattern, s.tag(pattern, s.errors(h)))
}

// api registers a handler behind bearer-token authentication.
func (s *Server) api(pattern string, h apiFunc) {
	s.mux.Handle(pattern, s.tag(pattern, s.authenticate(s.errors(h))))
}

// errors turns a handler's error into a problem response.
func (s *Server) errors(h apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// tag records the matched pattern for logs and metrics, and gives the
// request its deadline.
func (s *Server) tag(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoFrom(r.Context()); info != nil {
			info.route = pattern
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// slogErrorLog adapts slog to promhttp's error logger.
type slogErrorLog struct{ l *slog.Logger }

func (e slogErrorLog) Println(v ...any) { e.l.Error("metrics", "err", v) }

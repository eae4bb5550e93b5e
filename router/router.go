package router

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/teamline/teamline/directory"
)

// Directory is what the router reads. *directory.ReadCache and
// *directory.Service implement it.
type Directory interface {
	GetSettings(ctx context.Context) (directory.Settings, error)
	GetNumberByE164(ctx context.Context, e164 string) (directory.Number, error)
	ListNumbers(ctx context.Context, f directory.NumberFilter) ([]directory.Number, error)
	ListRules(ctx context.Context) ([]directory.Rule, error)
	GetLead(ctx context.Context, id int64) (directory.Lead, error)
	FindLeadByPhone(ctx context.Context, e164 string) (directory.Lead, error)
	// NormalizePhone turns a caller's number into E.164, or fails for
	// what is no phone number (anonymous, a SIP user name).
	NormalizePhone(raw string) (string, error)
}

// Router decides who gets calls and texts (R-IN, R-RULE). It is safe for
// concurrent use; several gateways may share one database.
type Router struct {
	dir Directory
	st  Store
	now func() time.Time
	log *slog.Logger
}

// Option configures a Router.
type Option func(*Router)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(r *Router) { r.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(r *Router) { r.log = l } }

// New returns a router reading dir and keeping its state in st.
func New(dir Directory, st Store, opts ...Option) *Router {
	r := &Router{dir: dir, st: st, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// ErrClaimed: another agent claimed the lead first.
var ErrClaimed = errors.New("router: lead already claimed")

// Errors of outbound calls (R-OUT-2, R-OUT-3, R-ACC-2): the API answers 403
// for them, the SIP side 403 with the same words.
var (
	// ErrNoDialer: the user may not place or receive dialer calls.
	ErrNoDialer = errors.New("router: dialer not enabled for this user")
	// ErrCallerID: the user may not use the number picked as caller ID.
	ErrCallerID = errors.New("router: caller ID not allowed for this user")
	// ErrInternational: international calls are not enabled.
	ErrInternational = errors.New("router: international calls are not enabled")
	// ErrNoCallerID: the account has no number to call from.
	ErrNoCallerID = errors.New("router: no number to call from")
	// ErrUnavailable: the agent has no phone to ring.
	ErrUnavailable = errors.New("router: agent has no phone to ring")
)

// Dial is a click-to-call (R-OUT-1): the gateway rings User's phones
// first, then calls To from CallerID (empty: the user's default number,
// R-NUM-6) once the user answers.
type Dial struct {
	User     string // username
	To       string // the number to call (normalised by the dialer)
	CallerID string // E.164 of one of the account's numbers, or ""
}

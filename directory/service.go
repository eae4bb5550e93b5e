package directory

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Service is the one way the directory changes. The REST API, `teamline
// apply` and the CLI verbs all call it, so every change is validated and
// access-checked (R-ACC) the same way, and each change runs in one
// transaction together with the checks that guard it.
type Service struct {
	store  Store
	phones *Phones
	realm  string
	now    func() time.Time
	log    *slog.Logger
	// gen counts committed write transactions of this process, so that
	// read caches (ReadCache) drop what they hold at once after a local
	// change.
	gen atomic.Uint64
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock that stamps created/updated times.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRealm sets the SIP digest realm passwords are hashed under.
func WithRealm(realm string) Option { return func(s *Service) { s.realm = realm } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns the directory service over a store.
func NewService(st Store, phones *Phones, opts ...Option) *Service {
	s := &Service{
		store:  st,
		phones: phones,
		realm:  "teamline",
		now:    time.Now,
		log:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Ping checks the database.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// NormalizePhone returns the E.164 form of a phone number in any common
// form, read in the directory's default region (an error wrapping
// ErrBadPhone says what is wrong).
func (s *Service) NormalizePhone(raw string) (string, error) { return s.phones.Normalize(raw) }

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

type txKey struct{}

// tx runs fn in a transaction, or in the caller's transaction when ctx
// carries one (apply runs a whole directory file in one transaction).
func (s *Service) tx(ctx context.Context, fn func(q Queries) error) error {
	if q, ok := ctx.Value(txKey{}).(Queries); ok {
		return fn(q)
	}
	return s.inTx(ctx, fn)
}

// inTx runs a top-level transaction and counts it for read caches. It is
// counted whatever the outcome: a failed or rolled back write costs a cache
// reload, never a stale read.
func (s *Service) inTx(ctx context.Context, fn func(q Queries) error) error {
	defer s.gen.Add(1)
	return s.store.InTx(ctx, fn)
}

// q returns the queries to read with: the caller's transaction if any, so
// a read after a write in the same apply sees that write.
func (s *Service) q(ctx context.Context) Queries {
	if q, ok := ctx.Value(txKey{}).(Queries); ok {
		return q
	}
	return s.store
}

// TelephonyEnabled reports whether the gateway takes calls: only once a
// buyer role number exists (R-NUM-4). The reason says what is missing.
func (s *Service) TelephonyEnabled(ctx context.Context) (bool, string) {
	return telephonyEnabled(ctx, s.q(ctx))
}

// numberLister is what the telephony check reads: the store, or a ReadCache.
type numberLister interface {
	ListNumbers(ctx context.Context, f NumberFilter) ([]Number, error)
}

func telephonyEnabled(ctx context.Context, q numberLister) (bool, string) {
	ok, err := hasBuyerNumber(ctx, q)
	if err != nil {
		return false, "directory unavailable"
	}
	if !ok {
		return false, "telephony disabled: no buyer role number"
	}
	return true, ""
}

func hasBuyerNumber(ctx context.Context, q numberLister) (bool, error) {
	ns, err := q.ListNumbers(ctx, NumberFilter{Kind: KindRole, Role: "buyer", Page: Page{Limit: 1}})
	return len(ns) > 0, err
}

// isNotFound is errors.Is(err, ErrNotFound).
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// unchangedSince refuses an update computed from a copy read before the
// stored object last changed (read at != stored): otherwise of two managers
// editing at once, the later write would silently undo the earlier one. A
// zero read time (apply, CLI) asks for no such check.
func unchangedSince(read, stored time.Time, object, key string) error {
	if read.IsZero() || read.Equal(stored) {
		return nil
	}
	return conflictf("%s %s changed since it was read; read it again and retry", object, key)
}

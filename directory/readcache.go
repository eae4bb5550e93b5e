package directory

import (
	"context"
	"sync"
	"time"
)

// ReadCache answers the reads every call makes (account settings, the
// account's numbers, whether telephony is on) from memory, so that a call
// costs no database round trip for them. The numbers of an account are few
// (its DIDs), so the whole list is held.
//
// What it holds is dropped after every write this process commits through
// the Service, so local changes count from the next call on; changes made
// by another gateway process sharing the database are seen within the TTL.
// Leads, users and registrations are not cached: there are many, and they
// change with every call.
type ReadCache struct {
	svc *Service
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	loaded   time.Time
	gen      uint64
	valid    bool
	settings Settings
	numbers  []Number          // ID order, as the store lists them
	byE164   map[string]Number // by E.164
	rules    []Rule            // evaluation order
}

// NewReadCache returns a cache over svc whose entries live at most ttl.
func NewReadCache(svc *Service, ttl time.Duration) *ReadCache {
	return &ReadCache{svc: svc, ttl: ttl, now: time.Now}
}

// snapshot returns fresh settings and numbers, loading them if needed.
func (c *ReadCache) snapshot(ctx context.Context) (Settings, []Number, map[string]Number, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadLocked(ctx); err != nil {
		return Settings{}, nil, nil, err
	}
	return c.settings, c.numbers, c.byE164, nil
}

// loadLocked refreshes what the cache holds when it is stale.
func (c *ReadCache) loadLocked(ctx context.Context) error {
	gen := c.svc.gen.Load()
	if c.valid && gen == c.gen && c.now().Sub(c.loaded) < c.ttl {
		return nil
	}
	q := c.svc.store
	st, err := q.GetSettings(ctx)
	if err != nil {
		return err
	}
	ns, err := q.ListNumbers(ctx, NumberFilter{})
	if err != nil {
		return err
	}
	rules, err := q.ListRules(ctx)
	if err != nil {
		return err
	}
	by := make(map[string]Number, len(ns))
	for _, n := range ns {
		by[n.E164] = n
	}
	c.settings, c.numbers, c.byE164, c.rules = st, ns, by, rules
	c.gen, c.loaded, c.valid = gen, c.now(), true
	return nil
}

// ListRules returns the lead-routing rules in evaluation order. The
// rules are shared: callers must not change them.
func (c *ReadCache) ListRules(ctx context.Context) ([]Rule, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadLocked(ctx); err != nil {
		return nil, err
	}
	return c.rules, nil
}

// GetLead reads through to the Service.
func (c *ReadCache) GetLead(ctx context.Context, id int64) (Lead, error) {
	return c.svc.GetLead(ctx, id)
}

// GetSettings returns the account settings.
func (c *ReadCache) GetSettings(ctx context.Context) (Settings, error) {
	st, _, _, err := c.snapshot(ctx)
	return st, err
}

// GetNumberByE164 returns the account's number raw (any common form), or
// ErrNotFound; a raw that is not a phone number is a ValidationError, as
// from Service.GetNumberByE164.
func (c *ReadCache) GetNumberByE164(ctx context.Context, raw string) (Number, error) {
	e, err := c.svc.numberE164(raw)
	if err != nil {
		return Number{}, err
	}
	_, _, by, err := c.snapshot(ctx)
	if err != nil {
		return Number{}, err
	}
	n, ok := by[e]
	if !ok {
		return Number{}, notFoundf("number %s", e)
	}
	return n, nil
}

// ListNumbers lists numbers by kind, role and owner; Page.After and
// Page.Limit apply as in the store (ID order).
func (c *ReadCache) ListNumbers(ctx context.Context, f NumberFilter) ([]Number, error) {
	_, ns, _, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := []Number{}
	for _, n := range ns {
		switch {
		case n.ID <= f.After,
			f.Kind != "" && n.Kind != f.Kind,
			f.Role != "" && n.Role != f.Role,
			f.Owner != "" && n.Owner != f.Owner:
			continue
		}
		out = append(out, n)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// TelephonyEnabled is Service.TelephonyEnabled from the cache.
func (c *ReadCache) TelephonyEnabled(ctx context.Context) (bool, string) {
	return telephonyEnabled(ctx, c)
}

// NormalizePhone is Service.NormalizePhone.
func (c *ReadCache) NormalizePhone(raw string) (string, error) { return c.svc.NormalizePhone(raw) }

// FindLeadByPhone reads through to the Service.
func (c *ReadCache) FindLeadByPhone(ctx context.Context, raw string) (Lead, error) {
	return c.svc.FindLeadByPhone(ctx, raw)
}

// GetUserByUsername reads through to the Service.
func (c *ReadCache) GetUserByUsername(ctx context.Context, username string) (User, error) {
	return c.svc.GetUserByUsername(ctx, username)
}

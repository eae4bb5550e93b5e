package sip

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// accountWatch counts failed digest authentications per user name, from
// any address, within the registrar's failure window. The guard blocks an
// address that guesses too often; a password guessed from many addresses
// (a botnet, an IPv6 range) stays under the guard's limit at every one of
// them, and only shows per account. Names that are no user count too:
// "admin" or "100" tried from everywhere is a dictionary attack.
//
// The watch only reports; it blocks nothing (blocking an account would let
// anyone lock a user out by failing on purpose). A success does not clear
// the count either: the user's own phone registering meanwhile must not hide
// the attack.
type accountWatch struct {
	mu      sync.Mutex
	entries map[string]*accountEntry
}

type accountEntry struct {
	failures int
	first    time.Time // start of the current window
	// sources are the distinct addresses in this window, up to
	// maxAccountSources (the count reported saturates there).
	sources map[netip.Addr]struct{}
	alerted bool // the warning for this window was given
}

// Bounds of the watch: an attacker chooses the names and addresses, so
// neither may grow memory without limit. Past maxAccountEntries the entry
// with the fewest failures makes room (expired ones first): a flood of
// one-off names churns among itself while an account under a sustained
// attack keeps its count.
const (
	maxAccountEntries = 4096
	maxAccountSources = 64
	maxAccountKey     = 64 // bytes of a name kept as its key
	// maxAccountLogName is how much of a name the warning shows.
	maxAccountLogName = 32
)

// accountAlert is what fail reports when a name crosses the threshold.
type accountAlert struct {
	failures, sources int
}

// fail counts one failure of name from src at now, in windows of length
// window, and returns an alert the first time in a window the count
// reaches threshold.
func (w *accountWatch) fail(name string, src netip.Addr, now time.Time, window time.Duration, threshold int) (accountAlert, bool) {
	key := strings.ToLower(truncate(name, maxAccountKey))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.entries == nil {
		w.entries = make(map[string]*accountEntry)
	}
	e := w.entries[key]
	if e == nil {
		if len(w.entries) >= maxAccountEntries {
			w.makeRoom(now, window)
		}
		e = &accountEntry{first: now, sources: make(map[netip.Addr]struct{})}
		w.entries[key] = e
	}
	if now.Sub(e.first) > window {
		e.failures, e.first, e.alerted = 0, now, false
		clear(e.sources)
	}
	e.failures++
	if len(e.sources) < maxAccountSources {
		e.sources[src] = struct{}{}
	}
	if e.failures >= threshold && !e.alerted {
		e.alerted = true
		return accountAlert{failures: e.failures, sources: len(e.sources)}, true
	}
	return accountAlert{}, false
}

// makeRoom drops every entry whose window has passed, or else the one with
// the fewest failures (the older of equals).
func (w *accountWatch) makeRoom(now time.Time, window time.Duration) {
	var victim string
	var least *accountEntry
	expired := false
	for k, e := range w.entries {
		if now.Sub(e.first) > window {
			delete(w.entries, k)
			expired = true
			continue
		}
		if least == nil || e.failures < least.failures || e.failures == least.failures && e.first.Before(least.first) {
			victim, least = k, e
		}
	}
	if !expired && least != nil {
		delete(w.entries, victim)
	}
}

// accountFailed counts a failed authentication of username from src and,
// once per failure window, warns about a name failing
// registrar.account_failure_alert times: the operator is told which
// account, how often and from how many addresses (the README says what to
// do about it).
func (s *Server) accountFailed(src netip.Addr, username string) {
	r := s.opts.backend.Registrar
	a, crossed := s.guard.accounts.fail(username, src, s.opts.backend.Now(), r.FailureWindow, r.AccountFailureAlert)
	if !crossed {
		return
	}
	s.metrics.accountAlerts.Inc()
	s.log.Warn("sip account failing authentication repeatedly",
		"account", truncate(username, maxAccountLogName), "failures", a.failures,
		"sources", a.sources, "window", r.FailureWindow.String())
}

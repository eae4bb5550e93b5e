package sip

import (
	"net/netip"
	"sync"
	"time"
)

// guard counts authentication failures per source address and blocks an
// address that fails too often: password guessing gets nowhere, and a
// blocked scanner costs the gateway a map lookup per packet.
type guard struct {
	max    int
	window time.Duration
	block  time.Duration
	now    func() time.Time

	mu    sync.Mutex
	addrs map[netip.Addr]*guardEntry

	// accounts counts failures per user name as well (see accountWatch);
	// it has its own lock.
	accounts accountWatch
}

type guardEntry struct {
	failures     int
	first        time.Time // start of the current window
	blockedUntil time.Time
}

// maxGuardEntries bounds the table: past it, entries that are neither
// blocked nor in a live window are dropped first.
const maxGuardEntries = 100_000

func newGuard(max int, window, block time.Duration, now func() time.Time) *guard {
	return &guard{max: max, window: window, block: block, now: now, addrs: make(map[netip.Addr]*guardEntry)}
}

// blocked reports whether addr is blocked now.
func (g *guard) blocked(addr netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.addrs[addr]
	return e != nil && g.now().Before(e.blockedUntil)
}

// fail counts one failure of addr and reports whether it is now blocked
// (true only for the failure that blocked it).
func (g *guard) fail(addr netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	e := g.addrs[addr]
	if e == nil {
		if len(g.addrs) >= maxGuardEntries {
			g.sweep(now)
		}
		e = &guardEntry{first: now}
		g.addrs[addr] = e
	}
	if now.Sub(e.first) > g.window {
		e.failures, e.first = 0, now
	}
	e.failures++
	if e.failures >= g.max && !now.Before(e.blockedUntil) {
		e.blockedUntil = now.Add(g.block)
		e.failures = 0
		return true
	}
	return false
}

// succeed forgets addr's failures.
func (g *guard) succeed(addr netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.addrs[addr]; e != nil && !g.now().Before(e.blockedUntil) {
		delete(g.addrs, addr)
	}
}

func (g *guard) sweep(now time.Time) {
	for a, e := range g.addrs {
		if !now.Before(e.blockedUntil) && now.Sub(e.first) > g.window {
			delete(g.addrs, a)
		}
	}
}

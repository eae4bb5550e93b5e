package sip

import (
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// callTable indexes the calls in progress by the dialog ID of each leg, so
// that in-dialog requests (ACK, BYE, re-INVITE, INFO) find their call: a
// leg the gateway answered by the ID it has as its UAS, a leg it placed by
// the ID it has as UAC. sipgo matches no in-dialog requests itself.
type callTable struct {
	mu   sync.Mutex
	legs map[legKey]tableLeg
	all  map[*call]struct{}
	// closed: the gateway is stopping; no call is added any more (a call
	// added after the drain looked would run on unstopped).
	closed bool
	// offers are the legs of agents hearing an instant call's whisper,
	// by the dialog ID the gateway has as their UAC.
	offers map[string]*offerLeg
	wg     sync.WaitGroup // one per call, from start until its records are closed
}

func newCallTable() *callTable {
	return &callTable{legs: map[legKey]tableLeg{}, all: map[*call]struct{}{}, offers: map[string]*offerLeg{}}
}

// legKey is a dialog ID and whether the gateway is the dialog's UAC. A call
// that leaves through a trunk and comes back (a proxy keeps Call-ID and
// tags) has one dialog ID for both of its halves: the gateway's UAC ID of
// the leg out is its UAS ID of the leg back in.
type legKey struct {
	id  string
	uac bool
}

// tableLeg is one leg of a call in the table.
type tableLeg struct {
	c    *call
	side int // 0 caller (leg A), 1 callee (leg B)
}

func (t *callTable) addOffer(id string, o *offerLeg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.offers[id] = o
}

func (t *callTable) removeOffer(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.offers, id)
}

// matchOffer finds the offer leg of an in-dialog request.
func (t *callTable) matchOffer(req *gosip.Request) *offerLeg {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, err := gosip.DialogIDFromRequestUAC(req); err == nil {
		return t.offers[id]
	}
	return nil
}

// add counts a call in; it reports false once the gateway is stopping.
func (t *callTable) add(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.all[c] = struct{}{}
	t.wg.Add(1)
	return true
}

// close refuses calls from now on and returns those in progress.
func (t *callTable) close() []*call {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return t.snapshot()
}

func (t *callTable) setDialog(c *call, side int, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.legs[c.legKey(side, id)] = tableLeg{c, side}
	c.dialogIDs[side] = id
}

// forget removes the call's dialog on side; the caller holds t.mu.
func (t *callTable) forget(c *call, side int) {
	k := c.legKey(side, c.dialogIDs[side])
	if l, ok := t.legs[k]; ok && l.c == c && l.side == side {
		delete(t.legs, k)
	}
}

// legKey is the key of the call's dialog id on side: the gateway placed
// leg B of every call and both legs of a call it placed itself.
func (c *call) legKey(side int, id string) legKey {
	return legKey{id: id, uac: side == 1 || c.placed}
}

// clearDialog forgets the call's dialog on side (an agent who answered but
// did not accept).
func (t *callTable) clearDialog(c *call, side int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forget(c, side)
	c.dialogIDs[side] = ""
}

func (t *callTable) remove(c *call) {
	t.mu.Lock()
	if _, ok := t.all[c]; !ok {
		t.mu.Unlock()
		return
	}
	delete(t.all, c)
	t.forget(c, 0)
	t.forget(c, 1)
	t.mu.Unlock()
	t.wg.Done()
}

// match finds the call and the leg (0 = caller, 1 = callee) of an
// in-dialog request: by the ID of a dialog the gateway answered, then by
// that of one it placed.
func (t *callTable) match(req *gosip.Request) (*call, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, err := gosip.DialogIDFromRequestUAS(req); err == nil {
		if l, ok := t.legs[legKey{id, false}]; ok {
			return l.c, l.side
		}
	}
	if id, err := gosip.DialogIDFromRequestUAC(req); err == nil {
		if l, ok := t.legs[legKey{id, true}]; ok {
			return l.c, l.side
		}
	}
	return nil, 0
}

func (t *callTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.all)
}

func (t *callTable) snapshot() []*call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*call, 0, len(t.all))
	for c := range t.all {
		out = append(out, c)
	}
	return out
}

package sip

import (
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// callTable indexes the calls in progress by the dialog ID of each leg, so
// that in-dialog requests (ACK, BYE, re-INVITE, INFO) find their call: the
// caller's leg by the ID the gateway has as its UAS, the callee's leg by
// the ID it has as UAC. sipgo matches no in-dialog requests itself.
type callTable struct {
	mu  sync.Mutex
	byA map[string]*call
	byB map[string]*call
	all map[*call]struct{}
	// offers are the legs of agents hearing an instant call's whisper,
	// by the dialog ID the gateway has as their UAC.
	offers map[string]*offerLeg
	wg     sync.WaitGroup // one per call, from start until its records are closed
}

func newCallTable() *callTable {
	return &callTable{byA: map[string]*call{}, byB: map[string]*call{}, all: map[*call]struct{}{}, offers: map[string]*offerLeg{}}
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

func (t *callTable) add(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.all[c] = struct{}{}
	t.wg.Add(1)
}

func (t *callTable) setDialog(c *call, side int, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if side == 0 {
		t.byA[id] = c
	} else {
		t.byB[id] = c
	}
	c.dialogIDs[side] = id
}

// clearDialog forgets the call's dialog on side (an agent who answered but
// did not accept).
func (t *callTable) clearDialog(c *call, side int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := c.dialogIDs[side]
	if side == 0 && t.byA[id] == c {
		delete(t.byA, id)
	} else if side == 1 && t.byB[id] == c {
		delete(t.byB, id)
	}
	c.dialogIDs[side] = ""
}

func (t *callTable) remove(c *call) {
	t.mu.Lock()
	if _, ok := t.all[c]; !ok {
		t.mu.Unlock()
		return
	}
	delete(t.all, c)
	if id := c.dialogIDs[0]; id != "" && t.byA[id] == c {
		delete(t.byA, id)
	}
	if id := c.dialogIDs[1]; id != "" && t.byB[id] == c {
		delete(t.byB, id)
	}
	t.mu.Unlock()
	t.wg.Done()
}

// match finds the call and the leg (0 = caller, 1 = callee) of an
// in-dialog request.
func (t *callTable) match(req *gosip.Request) (*call, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, err := gosip.DialogIDFromRequestUAS(req); err == nil {
		if c := t.byA[id]; c != nil {
			return c, 0
		}
	}
	if id, err := gosip.DialogIDFromRequestUAC(req); err == nil {
		if c := t.byB[id]; c != nil {
			return c, 1
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

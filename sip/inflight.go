package sip

import (
	"context"
	"sync"
)

// inflight tracks the requests being handled, so that Run returns only after
// the last handler has: in the B2BUA an INVITE handler blocks until the call
// is answered or refused, and must not outlive the server.
type inflight struct {
	mu     sync.Mutex
	ctx    context.Context // cancelled when Run stops; nil before Run
	closed bool
	wg     sync.WaitGroup
}

// open starts admitting requests; their contexts derive from ctx.
func (f *inflight) open(ctx context.Context) {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
}

// enter admits one request. It returns false once the server is stopping
// (or before it started); the caller then refuses the request.
func (f *inflight) enter() (context.Context, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.ctx == nil {
		return nil, false
	}
	f.wg.Add(1)
	return f.ctx, true
}

// leave ends a request admitted by enter.
func (f *inflight) leave() { f.wg.Done() }

// closeAndWait stops admitting requests and waits for those admitted.
func (f *inflight) closeAndWait() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.wg.Wait()
}

package sip

import (
	"context"
	"time"

	"github.com/teamline/teamline/billing"
)

// drainCalls is the graceful stop: new calls get 503 with Retry-After
// (serveInvite), the calls in progress run on until they end or the drain
// timeout passes, then the rest are hung up (BYE to both legs) and their
// records closed.
func (s *Server) drainCalls() {
	b := s.opts.backend
	s.callsDraining.Store(true)
	if b == nil {
		return
	}
	if n := s.calls.count(); n > 0 {
		s.log.Info("sip draining: waiting for calls to end", "calls", n, "timeout", b.Calls.DrainTimeout.String())
	}
	deadline := time.Now().Add(b.Calls.DrainTimeout)
	for s.calls.count() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range s.calls.close() {
		// A call still ringing is given up: its caller gets 503. Once
		// marked, it is not bridged any more (connect).
		c.mu.Lock()
		active := c.active
		c.stopping = !active
		c.mu.Unlock()
		if active {
			c.end(-1, billing.ResultAnswered, 200, "gateway stopped")
		} else if stop := c.ringingStopper(); stop != nil {
			stop(errGatewayStopping)
		}
	}
	s.calls.wg.Wait()
}

// recoverRecords closes the records a crashed run of this node left open.
func (s *Server) recoverRecords(ctx context.Context) {
	b := s.opts.backend
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := b.Records.CloseOpenCallRecords(ctx, b.Node, b.Now())
	switch {
	case err != nil:
		s.log.Warn("open call records of an earlier run not closed", "error", err)
	case n > 0:
		s.log.Warn("closed call records an earlier run left open", "records", n)
	}
}

package sip

import (
	"context"
	"errors"
	"log/slog"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/media"
)

// serveInvite runs one call from its first INVITE to its end. It returns
// once the caller has its final response; an answered call goes on in a
// goroutine owned by the call table.
func (s *Server) serveInvite(ctx context.Context, log *slog.Logger, req *gosip.Request, tx gosip.ServerTransaction) {
	b := s.opts.backend
	if s.callsDraining.Load() {
		s.respond(ctx, log, req, tx, errStopping)
		return
	}
	tctx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	ok, why := s.tel.Enabled(tctx)
	cancel()
	if !ok {
		s.respond(ctx, log, req, tx, &telephonyDisabledError{reason: why})
		return
	}
	// Checks of the request itself come before authentication, in RFC
	// 3261 8.2's order (docs/SIP-EDGE.md): they tell nothing about users.
	// A call the gateway forwards comes back if a trunk routes the number
	// to the gateway again: Max-Forwards, carried over to the outgoing leg
	// less one, ends such a loop (RFC 3261 16.3 step 3, 16.6 step 3).
	hops := 70
	if mf := req.MaxForwards(); mf != nil {
		hops = int(mf.Val())
	}
	if hops <= 0 {
		s.respond(ctx, log, req, tx, &reply{code: 483, reason: "Too Many Hops"})
		return
	}
	body, err := sessionBody(req)
	if err != nil {
		s.respond(ctx, log, req, tx, err)
		return
	}
	actx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	p, err := s.identify(actx, req)
	cancel()
	if err != nil {
		s.respond(ctx, log, req, tx, err)
		return
	}
	// Whom the call is for, clean before anything is looked up.
	to, err := dialledOf(req.Recipient)
	if err != nil {
		s.respond(ctx, log, req, tx, err)
		return
	}
	if len(body) == 0 {
		s.respond(ctx, log, req, tx, sdpError(errNoOffer))
		return
	}
	offer, err := media.ParseSDP(body)
	if err == nil {
		err = offer.Answerable()
	}
	if err != nil {
		s.respond(ctx, log, req, tx, sdpError(err))
		return
	}
	c := &call{s: s, log: log, start: b.Now(), offerA: offer, ended: make(chan struct{}), hops: hops - 1}
	// plan fills in the rest of the record: From and To as its direction
	// has them.
	c.rec = billing.CallRecord{CallID: callID(req), Node: b.Node, Start: c.start}

	pctx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	plan, err := s.plan(pctx, c, p, req, to)
	cancel()
	if err != nil {
		s.respond(ctx, log, req, tx, err)
		return
	}
	s.runCall(ctx, c, plan, req, tx)
}

// errStopping answers new calls while the gateway stops.
var errStopping = &reply{code: 503, reason: "Service Unavailable",
	headers: []gosip.Header{gosip.NewHeader("Retry-After", "60")}, why: "gateway stopping"}

// errNoOffer: an INVITE without SDP.
var errNoOffer = errors.New("no SDP offer")

// sdpError answers an unusable offer: malformed SDP is the request's fault
// (400); a well-formed offer without audio, or no offer at all, is one the
// gateway cannot take (488, RFC 3261 21.4.26). Late offers (INVITE without
// SDP) are not supported: the gateway needs the caller's codecs to make its
// offer to the callee.
func sdpError(err error) error {
	if errors.Is(err, media.ErrBadSDP) {
		return &reply{code: 400, reason: "Bad SDP", headers: []gosip.Header{gosip.NewHeader("Warning", warning(err.Error()))}}
	}
	return &reply{code: 488, reason: "Not Acceptable Here",
		headers: []gosip.Header{gosip.NewHeader("Warning", warning("SDP offer with audio required: "+err.Error()))}}
}

package sip

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
)

// party is who sent an INVITE: a trunk, or an authenticated user.
type party struct {
	trunk *Trunk
	user  *directory.User
}

// identify tells a trunk from a user (RFC 3261 22: digest for users; trunks
// by source address or their own credentials). It returns the decision to
// send instead when the sender is neither (challenge, 403, or nothing).
func (s *Server) identify(ctx context.Context, req *gosip.Request) (party, error) {
	b := s.opts.backend
	src := sourceAddr(req)
	if t := b.trunkBySource(src); t != nil {
		return party{trunk: t}, nil
	}
	if s.guard.blocked(src) {
		s.metrics.authFailures.WithLabelValues("blocked").Inc()
		return party{}, errDrop
	}
	cred := digestCredentials(req, s.opts.realm)
	if cred == nil {
		// Challenged when a trunk authenticates by digest (then without a
		// database query: a scanner's every INVITE gets here), or when
		// the sender claims to be a user with a SIP login.
		if b.hasInboundCredentials() || s.sipUser(ctx, req) {
			return party{}, s.challenge(req, false)
		}
		if b.Registrar.DropUnknown {
			return party{}, errDrop
		}
		return party{}, &reply{code: 403, reason: "Forbidden", why: "unknown source"}
	}
	if t := b.trunkByInboundUser(cred.Username); t != nil {
		switch s.nonces.verify(req, cred, t.inboundHA1) {
		case authOK:
			return party{trunk: t}, nil
		case authStale:
			return party{}, s.challenge(req, true)
		}
		return party{}, s.authFailed(src, "trunk", cred.Username)
	}
	u, err := s.authenticateUser(ctx, req)
	if err != nil {
		return party{}, err
	}
	return party{user: &u}, nil
}

// sipUser reports whether the From user of req is a user with a SIP login.
func (s *Server) sipUser(ctx context.Context, req *gosip.Request) bool {
	f := req.From()
	if f == nil {
		return false
	}
	u, err := s.opts.backend.Directory.GetUserByUsername(ctx, strings.ToLower(f.Address.User))
	return err == nil && u.SIP != nil
}

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
	actx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	p, err := s.identify(actx, req)
	cancel()
	if err != nil {
		s.respond(ctx, log, req, tx, err)
		return
	}
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
	if len(req.Body()) == 0 {
		s.respond(ctx, log, req, tx, sdpError(errNoOffer))
		return
	}
	offer, err := media.ParseSDP(req.Body())
	if err == nil {
		err = offer.Answerable()
	}
	if err != nil {
		s.respond(ctx, log, req, tx, sdpError(err))
		return
	}
	c := &call{s: s, log: log, start: b.Now(), offerA: offer, ended: make(chan struct{}), hops: hops - 1}
	c.rec = billing.CallRecord{CallID: callID(req), Node: b.Node, Start: c.start}
	if f := req.From(); f != nil {
		c.rec.From = truncate(f.Address.User, 64)
	}
	c.rec.To = truncate(req.Recipient.User, 64)

	pctx, cancel := context.WithTimeout(ctx, telephonyTimeout)
	plan, err := s.plan(pctx, c, p, req)
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

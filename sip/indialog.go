package sip

import (
	"context"
	"log/slog"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/media"
)

// Requests inside a call's dialogs. sipgo matches none of them, so the call
// table does: BYE ends the call, re-INVITE (hold, resume, codec change) and
// INFO (DTMF) are relayed to the other leg, OPTIONS is answered, the ACK to
// our 2xx confirms the caller's dialog.

// inDialogTimeout bounds relaying one in-dialog request.
const inDialogTimeout = 16 * time.Second

// serveInDialog handles a request with a To tag; it reports false when it
// matches no call (the caller answers 481).
func (s *Server) serveInDialog(log *slog.Logger, req *gosip.Request, tx gosip.ServerTransaction) bool {
	c, side := s.calls.match(req)
	if c == nil {
		if o := s.calls.matchOffer(req); o != nil {
			s.serveOffer(log, o, req, tx)
			return true
		}
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()
	switch req.Method {
	case gosip.BYE:
		if side == 1 && c.whisperBye(req, tx) {
			s.metrics.observe(req.Method, 200)
			return true
		}
		// The session answers the BYE itself and marks its dialog ended,
		// which also stops retransmitting a 2xx whose ACK never came.
		if side == 0 {
			c.byeFromCaller.Store(true)
		}
		if err := c.readBye(side, req, tx); err != nil {
			s.respond(ctx, log, req, tx, nil)
		} else {
			s.metrics.observe(req.Method, 200)
			log.Debug("sip request answered", "status", 200)
		}
		c.end(side, billing.ResultAnswered, 200, "BYE from "+c.party(side))
	case gosip.OPTIONS:
		s.respond(ctx, log, req, tx, nil)
	case gosip.INVITE:
		decision := s.reinvite(ctx, c, side, req)
		var ack <-chan struct{}
		if statusOK(decision) {
			// Registered before the 200 leaves, so its ACK cannot
			// arrive first.
			ack = c.expectAck(side, req)
		}
		res := s.respond(ctx, log, req, tx, decision)
		if ack != nil && res != nil && c.goBackground() {
			go func() {
				defer c.bg.Done()
				c.retransmit2xx(tx, res, ack)
			}()
		}
	case gosip.INFO:
		if c.listening(side) {
			// The gateway waits for a digit from this side itself.
			d, bad := infoDigit(req)
			if bad != nil {
				s.respond(ctx, log, req, tx, bad)
				return true
			}
			c.digit(side, d, "info")
			s.respond(ctx, log, req, tx, nil)
			return true
		}
		s.respond(ctx, log, req, tx, s.relayInfo(ctx, c, side, req))
	default:
		s.respond(ctx, log, req, tx, errMethodNotAllowed)
	}
	return true
}

// whisperBye takes the BYE of an agent who hangs up while hearing the
// whisper: that ends the agent's leg, not the call. It reports false when
// no whisper is on.
func (c *call) whisperBye(req *gosip.Request, tx gosip.ServerTransaction) bool {
	c.mu.Lock()
	gone := c.whispering
	c.whispering = nil
	c.mu.Unlock()
	if gone == nil {
		return false
	}
	if err := c.readBye(1, req, tx); err != nil {
		c.log.Debug("sip BYE of whispered agent not answered", "error", err)
	}
	close(gone)
	return true
}

// ack handles an ACK to our 2xx on the caller's leg.
func (s *Server) ack(req *gosip.Request, tx gosip.ServerTransaction) bool {
	c, side := s.calls.match(req)
	if c == nil {
		return false
	}
	if a := c.inbound(); side == 0 && a != nil {
		_ = a.ReadAck(req, tx)
	}
	c.acked(side, req)
	return true
}

// The 2xx to a re-INVITE is retransmitted by the gateway until its ACK
// arrives (RFC 3261 13.3.1.4; RFC 6026 leaves it to the UA core, not the
// transaction): over UDP a lost 200 would otherwise fail the re-INVITE.

type ackKey struct {
	side int
	cseq uint32
}

// expectAck registers the ACK the 2xx to req will get.
func (c *call) expectAck(side int, req *gosip.Request) <-chan struct{} {
	cs := req.CSeq()
	if cs == nil || !strings.EqualFold(req.Transport(), "udp") {
		return nil
	}
	ch := make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acks == nil {
		c.acks = make(map[ackKey]chan struct{})
	}
	c.acks[ackKey{side, cs.SeqNo}] = ch
	return ch
}

// acked tells a waiting retransmission that its ACK came.
func (c *call) acked(side int, req *gosip.Request) {
	cs := req.CSeq()
	if cs == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := ackKey{side, cs.SeqNo}
	if ch, ok := c.acks[k]; ok {
		close(ch)
		delete(c.acks, k)
	}
}

// retransmit2xx resends res at T1, doubling to T2, until the ACK arrives,
// 64*T1 pass or the call ends.
func (c *call) retransmit2xx(tx gosip.ServerTransaction, res *gosip.Response, ack <-chan struct{}) {
	giveUp := time.NewTimer(64 * gosip.T1)
	defer giveUp.Stop()
	interval := gosip.T1
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ack:
			return
		case <-c.ended:
			return
		case <-giveUp.C:
			c.log.Debug("no ACK to the 2xx of a re-INVITE")
			return
		case <-t.C:
			if err := tx.Respond(res); err != nil {
				return
			}
			interval = min(2*interval, gosip.T2)
			t.Reset(interval)
		}
	}
}

// statusOK reports whether a decision is a 2xx.
func statusOK(decision error) bool {
	code, _ := statusFor(decision)
	return code >= 200 && code < 300
}

// reinvite relays a re-INVITE from side to the other leg with the
// gateway's own SDP (RFC 3264 8), and answers side with what the other leg
// accepted. Hold (sendonly/inactive) passes through, so the phone on the
// other side shows it, and stops the media timeout.
func (s *Server) reinvite(ctx context.Context, c *call, side int, req *gosip.Request) error {
	b := s.opts.backend
	c.mu.Lock()
	active := c.active
	c.mu.Unlock()
	// The agent of a call the gateway placed may re-INVITE (hold) while
	// the number still rings: there is nobody to pass it on to, so the
	// gateway answers it from its own bridge.
	local := !active && side == 1 && c.placed
	if !active && !local {
		return &reply{code: 491, reason: "Request Pending"}
	}
	// The same body rules as the first INVITE: application/sdp, or its
	// session part of a multipart body; any other type gets 415.
	body, err := sessionBody(req)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		// Offerless re-INVITE: answer with the current session.
		return &reply{code: 488, reason: "Not Acceptable Here", why: "re-INVITE without SDP"}
	}
	offer, err := media.ParseSDP(body)
	if err == nil {
		err = offer.Answerable()
	}
	if err != nil {
		return sdpError(err)
	}
	here, hereBr := mediaSide(side), c.bridgeFacing(side)
	if !local {
		if err := s.forwardReinvite(ctx, c, side, offer); err != nil {
			return err
		}
	}
	answer, err := hereBr.Answer(here, b.MediaIP, offer)
	if err != nil {
		return &reply{code: 488, reason: "Not Acceptable Here", why: err.Error()}
	}
	if hereBr != c.bridge {
		// The call's own bridge watches the media: it must know of
		// the hold its spliced agent asked for.
		c.bridge.SetHold(here, offer.OnHold())
	}
	return &reply{code: 200, reason: "OK", body: answer, headers: []gosip.Header{
		gosip.NewHeader("Content-Type", "application/sdp"),
	}}
}

// forwardReinvite offers the other leg what side offered, with the
// gateway's own SDP, and takes its answer; the error is the reply to side
// when the other leg refused or did not answer.
func (s *Server) forwardReinvite(ctx context.Context, c *call, side int, offer media.Description) error {
	there, thereBr := mediaSide(1-side), c.bridgeFacing(1-side)
	fwd, err := s.inDialogRequest(c, 1-side, gosip.INVITE, thereBr.Offer(there, s.opts.backend.MediaIP, offer), "application/sdp")
	if err != nil {
		return &reply{code: 500, reason: "Server Internal Error", why: err.Error()}
	}
	other := c.session(1 - side)
	res, err := other.Do(ctx, fwd)
	if err != nil {
		return &reply{code: 408, reason: "Request Timeout", why: err.Error()}
	}
	if !res.IsSuccess() {
		return &reply{code: res.StatusCode, reason: res.Reason}
	}
	// The ACK to that 2xx: the session gives it the INVITE's CSeq number
	// (RFC 3261 13.2.2.4).
	_ = other.WriteRequest(gosip.NewRequest(gosip.ACK, fwd.Recipient))
	if d, err := media.ParseSDP(res.Body()); err == nil {
		_ = thereBr.SetRemote(there, d)
	}
	return nil
}

// relayInfo passes INFO (DTMF as application/dtmf-relay or
// application/dtmf) to the other leg and answers with its status.
func (s *Server) relayInfo(ctx context.Context, c *call, side int, req *gosip.Request) error {
	if !c.isActive() {
		// Nobody to pass it to yet (an agent of a call the gateway
		// placed, while the number rings): taken and dropped.
		return nil
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	fwd, err := s.inDialogRequest(c, 1-side, gosip.INFO, req.Body(), ct)
	if err != nil {
		return &reply{code: 500, reason: "Server Internal Error", why: err.Error()}
	}
	res, err := c.session(1-side).Do(ctx, fwd)
	if err != nil {
		return &reply{code: 408, reason: "Request Timeout", why: err.Error()}
	}
	if res.IsSuccess() {
		return nil
	}
	return &reply{code: res.StatusCode, reason: res.Reason}
}

// inDialogRequest builds a request to side within its dialog.
func (s *Server) inDialogRequest(c *call, side int, m gosip.RequestMethod, body []byte, contentType string) (*gosip.Request, error) {
	target, err := c.remoteTarget(side)
	if err != nil {
		return nil, err
	}
	req := gosip.NewRequest(m, target)
	if len(body) > 0 {
		if contentType != "" {
			req.AppendHeader(gosip.NewHeader("Content-Type", contentType))
		}
		req.SetBody(body)
	}
	return req, nil
}

// bridgeFacing is the bridge whose ports face side's phone: the call's,
// or for the agent who won an instant call, the agent's own bridge spliced
// to it (its side B faces the agent as the call's would).
func (c *call) bridgeFacing(side int) *media.Bridge {
	c.mu.Lock()
	defer c.mu.Unlock()
	if side == 1 && c.spliced != nil {
		return c.spliced
	}
	return c.bridge
}

func mediaSide(side int) media.Side {
	if side == 0 {
		return media.SideA
	}
	return media.SideB
}

// readBye lets side's dialog session answer a BYE (200) and end.
func (c *call) readBye(side int, req *gosip.Request, tx gosip.ServerTransaction) error {
	if d := c.session(side); d != nil {
		return d.ReadBye(req, tx)
	}
	return errNoDialog
}

// serveOffer handles a request from an agent hearing an instant call's
// whisper: a BYE ends that agent's offer, an INFO digit counts as pressed.
func (s *Server) serveOffer(log *slog.Logger, o *offerLeg, req *gosip.Request, tx gosip.ServerTransaction) {
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()
	switch req.Method {
	case gosip.BYE:
		if err := o.ev.sess.ReadBye(req, tx); err != nil {
			s.respond(ctx, log, req, tx, nil)
		} else {
			s.metrics.observe(req.Method, 200)
		}
		o.hangup()
	case gosip.INFO:
		d, bad := infoDigit(req)
		if bad != nil {
			s.respond(ctx, log, req, tx, bad)
			return
		}
		select {
		case o.digits <- d:
		default:
		}
		s.respond(ctx, log, req, tx, nil)
	case gosip.OPTIONS:
		s.respond(ctx, log, req, tx, nil)
	default:
		s.respond(ctx, log, req, tx, errMethodNotAllowed)
	}
}

// infoDigit reads the digit of a DTMF INFO (application/dtmf-relay or
// application/dtmf), or returns the 415 that refuses any other body.
func infoDigit(req *gosip.Request) (rune, *reply) {
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, err := media.ParseDTMFInfo(ct, req.Body())
	if err != nil {
		return 0, &reply{code: 415, reason: "Unsupported Media Type", why: err.Error()}
	}
	return d, nil
}

package sip

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
)

// runCall rings the plan's targets for caller leg A and, once one answers,
// bridges them and lets the call run in its own goroutine.
func (s *Server) runCall(ctx context.Context, c *call, plan *callPlan, req *gosip.Request, tx gosip.ServerTransaction) {
	b := s.opts.backend
	c.rec.Username = plan.username
	if !s.calls.add(c) {
		// The drain began after serveInvite looked.
		s.respond(ctx, c.log, req, tx, errStopping)
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), telephonyTimeout)
	err := b.Records.CreateCallRecord(rctx, &c.rec)
	cancel()
	if err != nil {
		c.log.Error("call record not created", "error", err)
		s.calls.remove(c)
		s.respond(ctx, c.log, req, tx, s.storeError(err))
		return
	}
	c.log = c.log.With("record", c.rec.ID, "direction", string(c.rec.Direction), "trunk", c.rec.Trunk, "user", c.rec.Username)
	s.metrics.activeCalls.Inc()
	sctx, scancel := context.WithTimeout(ctx, telephonyTimeout)
	settings, serr := b.Directory.GetSettings(sctx)
	scancel()
	c.svc = s.servicesFor(c, plan, settings, serr == nil)
	if !c.svc.consent && c.svc.consentWhy != "" {
		c.noteConsent("skipped:"+c.svc.consentWhy, b.Now())
	}
	// A user with no phone registered still has a voicemail box.
	toVoicemail := plan.code == 480 && c.svc.voicemail
	if plan.code != 0 && !toVoicemail {
		s.respond(ctx, c.log, req, tx, &reply{code: plan.code, reason: plan.reason})
		c.finish(plan.result, plan.code, plan.reason)
		return
	}

	ua := s.dialogUA(req.Transport())
	if ua == nil {
		s.respond(ctx, c.log, req, tx, errInternal)
		c.finish(billing.ResultFailed, 500, "no dialog agent")
		return
	}
	dtx, err := ua.ReadInvite(req, tx)
	if err != nil {
		s.respond(ctx, c.log, req, tx, &reply{code: 400, reason: "Bad Request", why: err.Error()})
		c.finish(billing.ResultFailed, 400, "bad INVITE")
		return
	}
	c.mu.Lock()
	c.a = dtx
	c.mu.Unlock()
	s.calls.setDialog(c, 0, dtx.ID)

	if err := s.newCallBridge(c); err != nil {
		s.failA(c, 503, "Service Unavailable", billing.ResultFailed, "no media ports")
		return
	}
	offerB := c.bridge.Offer(media.SideB, b.MediaIP, c.offerA)
	ringFor, maxDuration := callLimits(settings, serr == nil)

	// The caller cancelling (CANCEL: sipgo answers it and 487s the INVITE)
	// ends the dialog's context.
	cancelled := dtx.Context()
	stoppable, stop := context.WithCancelCause(cancelled)
	defer stop(nil)
	c.mu.Lock()
	c.stopRinging = stop
	c.mu.Unlock()
	ringCtx, stopRing := context.WithTimeout(stoppable, ringFor)
	defer stopRing()

	if c.gatewayEarlyMedia() {
		// R-REC-3: the caller hears the consent prompt before anyone
		// is bridged; the agents ring once it has played.
		if err := s.earlyMedia(c, dtx); err != nil {
			s.failA(c, 488, "Not Acceptable Here", billing.ResultFailed, "early media: "+err.Error())
			return
		}
		if !s.playConsent(stoppable, c, media.SideA) {
			switch {
			case errors.Is(context.Cause(stoppable), errGatewayStopping):
				s.failA(c, 503, "Service Unavailable", billing.ResultFailed, "gateway stopped")
			default:
				c.finish(billing.ResultCancelled, 487, "cancelled by caller")
			}
			return
		}
		c.startRingback(media.SideA)
	}

	var early *target // the fork whose early media the caller gets
	onProvisional := func(ev *forkEvent) {
		s.relayProvisional(c, dtx, ev, &early)
	}
	var out ringOutcome
	if toVoicemail {
		out.code, out.reason = plan.code, plan.reason
	} else if len(plan.agents) > 0 {
		// Each agent rings for the ring timeout in turn (or all at
		// once for an instant call): the whole is bounded by the
		// caller, not by one ring timeout.
		out = s.ringAgents(stoppable, c, plan, offerB, onProvisional, ringFor)
	} else if len(plan.parallel) > 0 {
		out = c.ring(ringCtx, plan.parallel, plan.from, offerB, onProvisional)
	} else {
		out = c.ringTrunks(ringCtx, plan.sequential, plan.from, offerB, onProvisional, nil)
	}

	if out.winner != nil && c.svc.pressOne && !out.accepted && !s.accepted(stoppable, c, out.winner) {
		out = ringOutcome{code: 480, reason: "Temporarily Unavailable"}
	}
	if out.winner != nil {
		s.tellRouter(c, plan, out.winner.t.username)
	}
	// Ringing is over (finish waits for the ringback's goroutine).
	c.stopRingback()
	switch {
	case out.winner != nil:
		s.answerA(c, dtx, out.winner, maxDuration)
	case errors.Is(context.Cause(stoppable), errGatewayStopping):
		s.failA(c, 503, "Service Unavailable", billing.ResultFailed, "gateway stopped")
	case cancelled.Err() != nil:
		// sipgo has answered 487 to the caller already.
		c.finish(billing.ResultCancelled, 487, "cancelled by caller")
	case c.svc.voicemail:
		// R-IN-4: no answer, busy, unavailable or not accepted.
		s.voicemail(c, dtx, plan.username, maxDuration)
	default:
		out.noAnswer = out.noAnswer || ringCtx.Err() != nil
		result, code, reason, why := out.failure()
		s.failA(c, code, reason, result, why)
	}
}

// failure is what a ringing nobody answered comes to: the record's result,
// the status to answer with and why, for the record. A server error of a
// carrier is the gateway's to absorb: 503 from the gateway would tell the
// caller's carrier that this gateway is down.
func (o ringOutcome) failure() (result billing.Result, code int, reason, why string) {
	switch {
	case o.noAnswer:
		return billing.ResultNoAnswer, 480, "Temporarily Unavailable", "no answer"
	case o.code == 486 || o.code == 600:
		return billing.ResultBusy, o.code, o.reason, o.reason
	case o.code == 603:
		return billing.ResultDeclined, o.code, o.reason, o.reason
	case o.code == 480 || o.code == 408:
		return billing.ResultUnavailable, o.code, o.reason, o.reason
	case o.code >= 500:
		return billing.ResultUnavailable, 480, "Temporarily Unavailable", "Temporarily Unavailable"
	}
	return billing.ResultFailed, o.code, o.reason, o.reason
}

// newCallBridge gives the call its media bridge. An answered call whose
// media stops is hung up; early media that stops while phones ring is left
// to the ring timeout.
func (s *Server) newCallBridge(c *call) error {
	bridge, err := s.opts.backend.Media.NewBridge(c.log, media.WithTimeoutFunc(func() {
		if c.isActive() {
			c.log.Info("no media from either side: hanging up")
			c.end(-1, billing.ResultAnswered, 200, "media timeout")
		}
	}))
	if err != nil {
		c.log.Error("no media ports", "error", err)
		return err
	}
	c.bridge = bridge
	return nil
}

// callLimits are the account's ring timeout and maximum call duration
// (R-BILL-7), or the defaults when the settings could not be read.
func callLimits(st directory.Settings, ok bool) (ringFor, maxDuration time.Duration) {
	ringFor, maxDuration = 30*time.Second, 4*time.Hour
	if ok && st.RingTimeoutSeconds > 0 {
		ringFor = time.Duration(st.RingTimeoutSeconds) * time.Second
	}
	if ok && st.MaxCallMinutes > 0 {
		maxDuration = time.Duration(st.MaxCallMinutes) * minute
	}
	return ringFor, maxDuration
}

// ringTrunks rings a number through each trunk in turn until one answers
// or fails with something another trunk would not change (busy, declined,
// not found). failover, when set, is told before the next trunk is tried.
func (c *call) ringTrunks(ctx context.Context, trunks []*target, from caller, body []byte, onProvisional func(*forkEvent), failover func()) ringOutcome {
	var out ringOutcome
	for i, t := range trunks {
		out = c.ring(ctx, []*target{t}, from, body, onProvisional)
		if out.winner != nil || ctx.Err() != nil || !failsOver(out.code) || i+1 == len(trunks) {
			break
		}
		c.log.Info("trunk failed, trying the next", "trunk", t.trunk.Name, "status", out.code)
		if failover != nil {
			failover()
		}
	}
	return out
}

// minute is the unit of the maximum call duration setting; tests shorten it.
var minute = time.Minute

// failsOver: trunk failures worth another trunk are server errors and
// timeouts, never a callee's answer like busy, declined or not found.
func failsOver(code int) bool { return code == 408 || code >= 500 && code < 600 }

// failA answers the caller with a final error and closes the call.
func (s *Server) failA(c *call, code int, reason string, result billing.Result, why string) {
	dtx := c.inbound()
	res := gosip.NewResponseFromRequest(dtx.InviteRequest, code, reason, nil)
	res.AppendHeader(gosip.NewHeader("Server", s.opts.userAgent))
	s.metrics.observe(gosip.INVITE, code)
	if err := dtx.WriteResponse(res); err != nil {
		c.log.Debug("sip final response not sent", "status", code, "error", err)
	}
	c.log.Info("sip request answered", "status", code, "reason", reason)
	c.finish(result, code, why)
}

// answerForA is the gateway's SDP answer to the caller's offer. The first
// one made is kept: the caller may have it in a 183 already, and the 200
// must carry the same answer (RFC 3261 13.3.1.1, RFC 6337 3.1). Only the
// call's own goroutine (runCall) calls it.
func (s *Server) answerForA(c *call) ([]byte, error) {
	if c.answerSDP == nil {
		body, err := c.bridge.Answer(media.SideA, s.opts.backend.MediaIP, c.offerA)
		if err != nil {
			return nil, err
		}
		c.answerSDP = body
	}
	return c.answerSDP, nil
}

// gatewayEarlyMedia tells whether the caller hears the gateway's own early
// media while the agents ring: the consent prompt, then ringback (inbound
// calls with the prompt).
func (c *call) gatewayEarlyMedia() bool {
	return c.svc.consent && c.rec.Direction == billing.Inbound
}

// answerResponse is the gateway's 200 to the caller's INVITE with the SDP
// answer body.
func (s *Server) answerResponse(dtx *sipgo.DialogServerSession, body []byte) *gosip.Response {
	res := gosip.NewResponseFromRequest(dtx.InviteRequest, 200, "OK", body)
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(gosip.NewHeader("Server", s.opts.userAgent))
	res.AppendHeader(gosip.NewHeader("Allow", allowedMethods))
	s.metrics.observe(gosip.INVITE, 200)
	return res
}

// relayProvisional passes 180 and 183 to the caller. Early media (183 with
// SDP) is bridged at once, so the caller hears the callee's ringback or
// announcements (RFC 3960); the first fork to send it keeps it.
func (s *Server) relayProvisional(c *call, dtx *sipgo.DialogServerSession, ev *forkEvent, early **target) {
	var body []byte
	code, reason := ev.res.StatusCode, ev.res.Reason
	if c.gatewayEarlyMedia() {
		// The caller has the gateway's early media (consent, then
		// ringback). A callee's own early media replaces the ringback;
		// the caller keeps the one answer it was given.
		if len(ev.res.Body()) == 0 || (*early != nil && *early != ev.t) {
			return
		}
		d, err := media.ParseSDP(ev.res.Body())
		if err != nil || c.bridge.SetRemote(media.SideB, d) != nil {
			return
		}
		*early = ev.t
		c.stopRingback()
		c.bridge.SetRelay(media.SideB, true)
		return
	}
	if len(ev.res.Body()) > 0 && (*early == nil || *early == ev.t) {
		if d, err := media.ParseSDP(ev.res.Body()); err == nil {
			if err := c.bridge.SetRemote(media.SideB, d); err == nil {
				if ans, err := s.answerForA(c); err == nil {
					body = ans
					*early = ev.t
					c.bridge.Start()
				}
			}
		}
	}
	if body == nil && code == 183 {
		code, reason = 180, "Ringing"
	}
	res := gosip.NewResponseFromRequest(dtx.InviteRequest, code, reason, body)
	if body != nil {
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	}
	if err := dtx.WriteResponse(res); err != nil {
		c.log.Debug("sip provisional not relayed", "status", code, "error", err)
	}
}

// answerA bridges the answering fork to the caller.
func (s *Server) answerA(c *call, dtx *sipgo.DialogServerSession, win *forkEvent, maxDuration time.Duration) {
	sess := win.sess
	fail := func(code int, reason, why string) {
		s.hangUp(sess, nil)
		s.failA(c, code, reason, billing.ResultFailed, why)
	}
	if !c.connect(1, sess, false) {
		// The agent hung up between pressing 1 and being connected
		// (the call is closed already): the caller is told so.
		fail(s.unanswerable(c))
		return
	}
	if err := c.calleeMedia(sess); err != nil {
		fail(502, "Bad Gateway", err.Error())
		return
	}
	answer, err := s.answerForA(c)
	if err != nil {
		status := 500
		if errors.Is(err, media.ErrNoCommonCodec) {
			status = 488
		}
		fail(status, "Not Acceptable Here", err.Error())
		return
	}
	c.stopRingback()
	// Outbound, the callee is the party outside the team: it hears the
	// consent prompt before the two are bridged (the agent hears
	// silence meanwhile). Inbound, the caller heard it before ringing.
	outboundConsent := c.svc.consent && c.rec.Direction == billing.Outbound
	c.relay(!outboundConsent)
	c.bridge.Start()
	trunk := ""
	if win.t.trunk != nil && c.rec.Direction != billing.Inbound {
		trunk = win.t.trunk.Name
	}
	if !c.answered(win.t.username, trunk) {
		// The agent hung up after being connected, or the gateway
		// stopped the call: the caller is not answered.
		fail(s.unanswerable(c))
		return
	}
	res := s.answerResponse(dtx, answer)
	c.log.Info("call answered", "by", win.t.username, "target", truncate(win.t.uri.String(), 128))
	go c.supervise(maxDuration)
	s.talk(c, win, outboundConsent, media.SideB)
	// WriteResponse retransmits the 200 until the ACK (RFC 3261 13.3.1.4);
	// with no ACK in 64*T1 the call is hung up.
	if err := dtx.WriteResponse(res); err != nil {
		if c.byeFromCaller.Load() {
			// The caller's BYE overtook its ACK (each message is
			// handled in its own goroutine); the BYE ends the call.
			return
		}
		c.log.Warn("caller never acknowledged the answer", "error", err)
		c.end(-1, billing.ResultFailed, 200, "no ACK from caller")
	}
}

// unanswerable is the final response for a call answered() refused, and
// why.
func (s *Server) unanswerable(c *call) (int, string, string) {
	if c.hasEnded() {
		return 480, "Temporarily Unavailable", "agent hung up before the call was connected"
	}
	return 503, "Service Unavailable", "gateway stopped"
}

// talk starts an answered call whose bridge runs with relaying off when
// consent is due: the party outside the team (side outside) hears the
// consent prompt first, the agent silence, then the two are bridged.
// Recording starts once they are.
func (s *Server) talk(c *call, win *forkEvent, consent bool, outside media.Side) {
	switch {
	case consent && c.goBackground():
		go func() {
			defer c.bg.Done()
			ctx, cancel := c.untilEnded()
			defer cancel()
			if !s.playConsent(ctx, c, outside) {
				return
			}
			c.relay(true)
			if c.svc.record {
				s.startRecording(c, c.agent(win))
			}
		}()
	case c.svc.record:
		s.startRecording(c, c.agent(win))
	}
}

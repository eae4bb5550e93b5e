package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/router"
)

// Calls the gateway places itself. Click-to-call (R-OUT-1) rings an
// agent's phones and, once the agent answers, calls the number through
// the trunks. A lead created outside a call (a web form, the API) is
// offered to the agents of its claim or instant-call rule with the whisper
// (R-RULE-6), and the agent who presses 1 is connected to the lead the
// same way, from the rule's role number.
//
// In such a call the agent is leg B, as in every call that reaches an
// agent (whisper, press 1, instant-call splice and recording work as on
// inbound calls), and the number called is leg A; the gateway is the UAC
// of both. The agent hears ringback from the gateway, or the carrier's
// early media, while the number rings; if nobody answers there the agent
// is hung up.

// errTelephonyOff: calls cannot be placed (no backend, or the gateway is
// stopping); the API answers 503.
var errTelephonyOff = fmt.Errorf("%w: the gateway places no calls now", directory.ErrUnavailable)

// ClickToCall rings d.User's phones (and verified cell phone), then calls
// d.To from d.CallerID or the user's default number. It returns once the
// call record is written; the call goes on in the background.
func (s *Server) ClickToCall(ctx context.Context, d router.Dial) (int64, error) {
	st, err := s.dialerSettings(ctx)
	if err != nil {
		return 0, err
	}
	b := s.opts.backend
	u, err := b.Directory.GetUserByUsername(ctx, d.User)
	if err != nil {
		return 0, err
	}
	number, err := b.Phones.Normalize(d.To)
	if err != nil {
		return 0, err
	}
	cid, err := s.outbound(ctx, &u, st, number, d.CallerID)
	if err != nil {
		return 0, err
	}
	phones, err := s.userTargets(ctx, u.Username, true)
	if err != nil {
		return 0, err
	}
	if len(phones) == 0 {
		return 0, router.ErrUnavailable
	}
	c := s.newPlacedCall()
	c.rec.Username = u.Username
	// The agent's phone shows whom it is about to call.
	show := caller{user: number, display: "Call to " + number}
	if l, err := b.Directory.FindLeadByPhone(ctx, number); err == nil {
		c.rec.LeadID = l.ID
		if l.Name != "" {
			show.display = l.Name
		}
	}
	c.rec.Route = fmt.Sprintf("click-to-call: %s's phones, then %s", u.Username, number)
	plan := &callPlan{parallel: phones, username: u.Username, from: show}
	return s.place(ctx, c, plan, st, number, cid)
}

// OfferLead calls the agents of a claim or instant-call decision about a
// lead created outside a call, with the whisper; the first to press 1
// gets the lead and is connected to it by a call from the rule's role
// number. Agents without dialer access or without a phone are left out
// (R-ACC-2). It returns once the call record is written.
func (s *Server) OfferLead(ctx context.Context, d router.Decision) (int64, error) {
	if d.Action != router.RingUser || (d.Mode != router.ModeClaim && d.Mode != router.ModeInstant) || d.Lead == nil || len(d.Lead.Phones) == 0 {
		return 0, fmt.Errorf("sip: the decision offers no lead to agents (%s, %s)", d.Action, d.Mode)
	}
	st, err := s.dialerSettings(ctx)
	if err != nil {
		return 0, err
	}
	b := s.opts.backend
	lead := d.Lead
	number := lead.Phones[0]
	if b.Phones.IsInternational(number) && !st.InternationalEnabled {
		return 0, router.ErrInternational
	}
	cid, err := s.roleNumber(ctx, d.Role)
	if err != nil {
		return 0, err
	}
	c := s.newPlacedCall()
	plan := &callPlan{mode: d.Mode, decision: &d}
	noDialer := 0
	for _, name := range d.Agents {
		u, err := b.Directory.GetUserByUsername(ctx, name)
		if err != nil {
			c.log.Warn("agent of a lead offer not found", "agent", name, "error", err)
			continue
		}
		if !mayDial(&u, st) {
			c.log.Info("agent left out of a lead offer: no dialer access", "agent", name)
			noDialer++
			continue
		}
		ts, err := s.userTargets(ctx, name, true)
		if err != nil {
			return 0, err
		}
		if len(ts) > 0 {
			plan.agents = append(plan.agents, agentTargets{user: name, targets: ts})
		}
	}
	if len(plan.agents) == 0 {
		if noDialer == len(d.Agents) {
			return 0, router.ErrNoDialer
		}
		return 0, router.ErrUnavailable
	}
	// R-IN-6 as for inbound calls: the agents see the role number (the
	// line the lead came in on) or the lead's own, with the lead's name.
	plan.from = caller{user: cid.E164, display: lead.Name}
	if st.CallerIDMode == "lead_number" {
		plan.from.user = number
	}
	c.rec.LeadID = lead.ID
	c.rec.Route = truncate("lead offered to its agents: "+d.Short(), 1024)
	return s.place(ctx, c, plan, st, number, cid)
}

// dialerSettings are the account's settings, once placing a call is
// possible at all.
func (s *Server) dialerSettings(ctx context.Context) (directory.Settings, error) {
	b := s.opts.backend
	if b == nil || s.callsDraining.Load() {
		return directory.Settings{}, errTelephonyOff
	}
	if ok, why := s.tel.Enabled(ctx); !ok {
		return directory.Settings{}, fmt.Errorf("%w: telephony is off: %s", directory.ErrUnavailable, why)
	}
	return b.Directory.GetSettings(ctx)
}

// newPlacedCall is a call the gateway places, before its record exists.
func (s *Server) newPlacedCall() *call {
	b := s.opts.backend
	id := "teamline-" + gosip.GenerateTagN(24)
	c := &call{s: s, log: s.log.With("call_id", id), start: b.Now(), ended: make(chan struct{}), hops: 70, placed: true}
	c.rec = billing.CallRecord{CallID: id, Node: b.Node, Start: c.start, Direction: billing.Outbound}
	return c
}

// place writes the call's record and starts it: the plan's agents ring,
// then number is called from cid.
func (s *Server) place(ctx context.Context, c *call, plan *callPlan, st directory.Settings, number string, cid directory.Number) (int64, error) {
	b := s.opts.backend
	c.rec.From, c.rec.To = truncate(cid.E164, 64), truncate(number, 64)
	c.rec.Dialed, c.rec.NumberKind, c.rec.Role = truncate(cid.E164, 64), string(cid.Kind), cid.Role
	lead := s.trunkTargets(number, cid.Trunk)
	if len(lead) == 0 {
		return 0, fmt.Errorf("%w: no outbound trunk", directory.ErrUnavailable)
	}
	names := make([]string, 0, len(lead))
	for _, t := range lead {
		names = append(names, t.trunk.Name)
	}
	c.rec.Route = truncate(fmt.Sprintf("%s; caller ID %s (%s); trunks in order: %s", c.rec.Route, cid.E164, cid.Kind, strings.Join(names, ", ")), 1024)
	// The agent hanging up (the call ends) or the gateway stopping ends
	// the ringing on either leg; the drain finds the stopper once the
	// call is in the table.
	base, cancelBase := c.untilEnded()
	stoppable, stop := context.WithCancelCause(base)
	done := func() {
		stop(nil)
		cancelBase()
	}
	c.stopRinging = stop
	if !s.calls.add(c) {
		done()
		return 0, errTelephonyOff
	}
	if err := b.Records.CreateCallRecord(ctx, &c.rec); err != nil {
		s.calls.remove(c)
		done()
		return 0, err
	}
	c.log = c.log.With("record", c.rec.ID, "direction", string(c.rec.Direction))
	if c.rec.Username != "" {
		c.log = c.log.With("user", c.rec.Username) // a lead offer has its agent once one presses 1
	}
	c.svc = s.servicesFor(c, plan, st, true)
	s.metrics.activeCalls.Inc()
	c.log.Info("placing a call", "to", number, "caller_id", cid.E164, "route", c.rec.Route)
	go func() {
		defer done()
		s.runPlaced(stoppable, c, plan, lead, caller{user: cid.E164, display: st.CallerName}, st)
	}()
	return c.rec.ID, nil
}

// runPlaced rings the agent(s) of a placed call and, once one is on the
// line (and has pressed 1 where the plan asks for it), the number, until
// stoppable ends (the agent hangs up, the gateway stops).
func (s *Server) runPlaced(stoppable context.Context, c *call, plan *callPlan, lead []*target, from caller, st directory.Settings) {
	b := s.opts.backend
	// unanswered closes the call when who did not answer.
	unanswered := func(out ringOutcome, who string) {
		if errors.Is(context.Cause(stoppable), errGatewayStopping) {
			c.finish(billing.ResultFailed, 503, "gateway stopped")
			return
		}
		result, code, _, why := out.failure()
		c.finish(result, code, who+": "+why)
	}

	if err := s.newCallBridge(c); err != nil {
		c.finish(billing.ResultFailed, 503, "no media ports")
		return
	}
	ringFor, maxDuration := callLimits(st, true)
	offerB := c.bridge.Offer(media.SideB, b.MediaIP, media.Description{})
	var out ringOutcome
	if len(plan.agents) > 0 {
		out = s.ringAgents(stoppable, c, plan, offerB, nil, ringFor)
	} else {
		rctx, cancel := context.WithTimeout(stoppable, ringFor)
		out = c.ring(rctx, plan.parallel, plan.from, offerB, nil)
		out.noAnswer = out.winner == nil && errors.Is(rctx.Err(), context.DeadlineExceeded)
		cancel()
	}
	if out.winner == nil {
		unanswered(out, "agent")
		return
	}
	agent := out.winner
	// The agent's dialog joins the call first, so that a BYE from the
	// agent from now on ends it.
	if !c.connect(1, agent.sess, false) {
		s.hangUp(agent.sess, nil)
		return
	}
	s.tellRouter(c, plan, agent.t.username)
	if !s.agentOnLine(c, agent) {
		return
	}
	c.log.Info("agent on the line, calling the number", "agent", agent.t.username, "to", c.rec.To)

	// The number: its early media (a carrier's ringback, announcements)
	// replaces the gateway's ringback, from the trunk that sent it.
	var early *target
	onProvisional := func(ev *forkEvent) {
		if len(ev.res.Body()) == 0 || early != nil {
			return
		}
		d, err := media.ParseSDP(ev.res.Body())
		if err != nil || c.bridge.SetRemote(media.SideA, d) != nil {
			return
		}
		early = ev.t
		c.stopRingback()
		c.bridge.SetRelay(media.SideA, true)
	}
	failover := func() {
		if early != nil {
			early = nil
			c.bridge.SetRelay(media.SideA, false)
			c.startRingback(media.SideB)
		}
	}
	agentSDP, _ := media.ParseSDP(agent.sess.InviteResponse.Body())
	offerA := c.bridge.Offer(media.SideA, b.MediaIP, agentSDP)
	if stoppable.Err() != nil {
		// The agent hung up or the gateway stopped already: the
		// number is not called.
		c.stopRingback()
		if !c.hasEnded() {
			s.hangUp(agent.sess, nil)
			unanswered(ringOutcome{}, "number called")
		}
		return
	}
	lctx, cancel := context.WithTimeout(stoppable, ringFor)
	out = c.ringTrunks(lctx, lead, from, offerA, onProvisional, failover)
	out.noAnswer = out.winner == nil && errors.Is(lctx.Err(), context.DeadlineExceeded)
	cancel()
	c.stopRingback()
	if c.hasEnded() {
		// The agent hung up while the number rang; ending the call
		// has closed it.
		if out.winner != nil {
			s.hangUp(out.winner.sess, nil)
		}
		return
	}
	if out.winner == nil {
		s.hangUp(agent.sess, nil)
		unanswered(out, "number called")
		return
	}
	s.numberAnswered(c, agent, out.winner, maxDuration)
}

// agentOnLine makes the agent who answered (and pressed 1, where asked)
// the call's leg B, hearing ringback while the number is called. It
// reports false when the call is over instead.
func (s *Server) agentOnLine(c *call, agent *forkEvent) bool {
	if err := c.calleeMedia(agent.sess); err != nil {
		s.hangUp(agent.sess, nil)
		c.finish(billing.ResultFailed, 502, err.Error())
		return false
	}
	c.relay(false)
	c.bridge.Start()
	c.startRingback(media.SideB)
	return true
}

// numberAnswered bridges the number that answered to the agent: the
// number is leg A from now on. The consent prompt, when due, plays to the
// number before the two are bridged (the agent hears silence).
func (s *Server) numberAnswered(c *call, agent, win *forkEvent, maxDuration time.Duration) {
	fail := func(why string) {
		s.hangUp(win.sess, nil)
		s.hangUp(agent.sess, nil)
		c.finish(billing.ResultFailed, 502, why)
	}
	d, err := media.ParseSDP(win.sess.InviteResponse.Body())
	if err != nil {
		fail("number answered without usable SDP")
		return
	}
	if err := c.bridge.SetRemote(media.SideA, d); err != nil {
		fail("number's SDP: " + err.Error())
		return
	}
	if !c.connect(0, win.sess, true) {
		// The agent hung up this very moment, or the gateway stopped
		// the call while the number answered.
		s.hangUp(win.sess, nil)
		if !c.hasEnded() {
			s.hangUp(agent.sess, nil)
			c.finish(billing.ResultFailed, 503, "gateway stopped")
		}
		return
	}
	c.relay(!c.svc.consent)
	if !c.answered(agent.t.username, win.t.trunk.Name) {
		return // ended this very moment: end has hung up both legs
	}
	c.log.Info("call answered", "by", c.rec.To, "agent", agent.t.username, "trunk", win.t.trunk.Name)
	go c.supervise(maxDuration)
	s.talk(c, agent, c.svc.consent, media.SideA)
}

// hangUp sends BYE on a leg, unless gone is closed (its phone hung up
// itself), and forgets the dialog.
func (s *Server) hangUp(sess dialogLeg, gone <-chan struct{}) {
	select {
	case <-gone:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if err := sess.Bye(ctx); err != nil {
			s.log.Debug("sip BYE failed", "error", err)
		}
		cancel()
	}
	_ = sess.Close()
}

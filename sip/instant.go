package sip

import (
	"context"
	"net/netip"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/media"
)

// An instant call (R-RULE-6) rings all of a rule's agents at once, and
// every agent who answers hears the whisper while the others still ring:
// several agents may be on the line before one presses 1. Each agent's leg
// therefore gets its own media bridge (an offer leg) for the whisper and
// its digits. The first to press 1 wins: the others are cancelled or hung
// up, and the winner's bridge is spliced to the call's own bridge over
// loopback (call side B <-> offer side A), so recording, DTMF relay and the
// caller's SDP stay those of the call.

// offerLeg is one answered agent of an instant call, hearing the whisper.
type offerLeg struct {
	ev      *forkEvent
	bridge  *media.Bridge
	digits  chan rune
	gone    chan struct{} // closed when the agent hangs up
	goneOne sync.Once
	verdict chan bool // true: this agent got the call
}

func (o *offerLeg) hangup() { o.goneOne.Do(func() { close(o.gone) }) }

// ringInstant rings every agent of the plan at once and returns the first
// to press 1 as the winner (accepted), its media already spliced.
//
// Phones ring for ringFor; an agent who answered has the accept timeout
// from then on to press 1, even when ringing ends meanwhile.
func (s *Server) ringInstant(ctx context.Context, c *call, plan *callPlan, ringFor time.Duration) ringOutcome {
	b := s.opts.backend
	rctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	forkCtx, stopForks := context.WithTimeout(rctx, ringFor)
	defer stopForks()
	forksDone := forkCtx.Done()
	events := make(chan *forkEvent, 16)
	bridges := map[*target]*media.Bridge{}
	defer func() {
		for _, br := range bridges {
			if br != nil {
				br.Close()
			}
		}
	}()
	pending := 0
	for _, a := range plan.agents {
		for _, t := range a.targets {
			br, err := b.Media.NewBridge(c.log)
			if err != nil {
				c.log.Warn("no media ports for an agent's offer", "agent", a.user, "error", err)
				continue
			}
			bridges[t] = br
			req, err := s.newInvite(t, plan.from, br.Offer(media.SideB, b.MediaIP, c.offerA), c.hops)
			if err != nil {
				c.log.Warn("sip fork not sent", "target", t.uri.String(), "error", err)
				continue
			}
			if !c.goFork() {
				continue // the call is over; its bridge is closed below
			}
			pending++
			go func() {
				defer c.forks.Done()
				c.fork(forkCtx, t, req, events)
			}()
		}
	}
	claims := make(chan *offerLeg, 4)
	lost := make(chan *offerLeg, 4)
	whispering := 0
	var best ringOutcome
	var winner *offerLeg
	ringing := false
ringing:
	for (pending > 0 || whispering > 0) && winner == nil {
		select {
		case ev := <-events:
			if !ev.done {
				if !ringing && !c.gatewayEarlyMedia() {
					ringing = true
					s.ringingA(c)
				}
				continue
			}
			pending--
			if ev.err != nil {
				best.merge(ev)
				continue
			}
			o := &offerLeg{ev: ev, bridge: bridges[ev.t], digits: make(chan rune, 8), gone: make(chan struct{}), verdict: make(chan bool, 1)}
			delete(bridges, ev.t) // the whisper goroutine closes it
			if !c.goBackground() {
				o.bridge.Close()
				continue
			}
			whispering++
			s.calls.addOffer(ev.sess.ID, o)
			go func() {
				defer c.bg.Done()
				s.whisperOffer(rctx, c, o, claims, lost)
			}()
		case o := <-claims:
			whispering--
			// The call knows the winner's dialog before the offer
			// forgets it, so a BYE right after the 1 finds one of them.
			if !c.connect(1, o.ev.sess, false) {
				o.verdict <- false // the caller has hung up
				continue
			}
			winner = o
			o.verdict <- true
		case <-lost:
			// Answered but did not press 1: not taken.
			whispering--
			best.noAnswer = true
		case <-forksDone:
			// The phones still ringing are cancelled; their reports
			// are dropped.
			forksDone = nil
			best.noAnswer = best.noAnswer || pending > 0
			pending = 0
		case <-ctx.Done():
			break ringing
		}
	}
	// Ringing is over: the others are cancelled (CANCEL to the phones
	// still ringing, BYE to those hearing the whisper), and whoever
	// presses 1 now is told it lost.
	cancelAll()
	for whispering > 0 {
		select {
		case o := <-claims:
			o.verdict <- false
		case <-lost:
		}
		whispering--
	}
	if winner == nil {
		best.settle()
		return best
	}
	if err := s.splice(c, winner.bridge); err != nil {
		c.log.Error("agent's media not joined to the call", "error", err)
		winner.bridge.Close()
		s.hangUp(winner.ev.sess, nil)
		return ringOutcome{code: 500, reason: "Server Internal Error"}
	}
	// finish closes the spliced bridge, unless it has got past that:
	// then the call is over and the bridge is closed here.
	c.mu.Lock()
	late := c.finishing
	if !late {
		c.spliced = winner.bridge
	}
	c.mu.Unlock()
	if late {
		winner.bridge.Close()
		s.hangUp(winner.ev.sess, nil)
		return ringOutcome{code: 480, reason: "Temporarily Unavailable"}
	}
	return ringOutcome{winner: winner.ev, accepted: true}
}

// whisperOffer plays the whisper to one answered agent and waits for 1.
// Pressing 1 is a claim: the loop in ringInstant answers whether it won.
func (s *Server) whisperOffer(ctx context.Context, c *call, o *offerLeg, claims, lost chan<- *offerLeg) {
	who := o.ev.t.username
	defer s.calls.removeOffer(o.ev.sess.ID)
	fail := func(why string) {
		c.log.Info("agent did not take the instant call", "by", who, "why", why)
		o.bridge.Close()
		s.hangUp(o.ev.sess, o.gone)
		lost <- o
	}
	d, err := media.ParseSDP(o.ev.sess.InviteResponse.Body())
	if err != nil {
		fail("answer without usable SDP")
		return
	}
	if err := o.bridge.SetRemote(media.SideB, d); err != nil {
		fail(err.Error())
		return
	}
	o.bridge.SetRelay(media.SideA, false)
	o.bridge.SetRelay(media.SideB, false)
	o.bridge.OnDTMF(func(from media.Side, digit rune, how string) {
		if from == media.SideB {
			select {
			case o.digits <- digit:
			default:
			}
		}
	})
	o.bridge.Start()
	if why := s.awaitOne(ctx, c, o.bridge, o.digits, o.gone); why != "" {
		fail(why)
		return
	}
	o.bridge.OnDTMF(nil)
	claims <- o
	if <-o.verdict {
		c.log.Info("agent accepted the instant call", "by", who)
		return
	}
	fail("another agent pressed 1 first")
}

// splice joins an offer leg's bridge to the call's bridge: the call's side
// B and the offer's side A send to each other over loopback, each told the
// other's port as if by SDP.
func (s *Server) splice(c *call, ob *media.Bridge) error {
	ip := func(ap netip.AddrPort) netip.Addr {
		if a := ap.Addr(); a.IsValid() && !a.IsUnspecified() {
			return a.Unmap()
		}
		return netip.MustParseAddr("127.0.0.1")
	}
	callIP, offerIP := ip(c.bridge.Local(media.SideB)), ip(ob.Local(media.SideA))
	callOffer, err := media.ParseSDP(c.bridge.Offer(media.SideB, callIP, c.offerA))
	if err != nil {
		return err
	}
	offerSide, err := media.ParseSDP(ob.Offer(media.SideA, offerIP, callOffer))
	if err != nil {
		return err
	}
	if err := c.bridge.SetRemote(media.SideB, offerSide); err != nil {
		return err
	}
	if err := ob.SetRemote(media.SideA, callOffer); err != nil {
		return err
	}
	ob.SetRelay(media.SideA, true)
	ob.SetRelay(media.SideB, true)
	return nil
}

// ringingA tells the caller the agents ring (180), once.
func (s *Server) ringingA(c *call) {
	a := c.inbound()
	if a == nil {
		return
	}
	res := gosip.NewResponseFromRequest(a.InviteRequest, 180, "Ringing", nil)
	if err := a.WriteResponse(res); err != nil {
		c.log.Debug("sip 180 not sent", "error", err)
	}
}

package sip

import (
	"context"
	"errors"
	"time"

	"github.com/teamline/teamline/router"
)

// ringAgents offers an inbound call to the agents a lead-routing rule
// chose (R-RULE-6, R-IN-4): auto-assign rings them one after the other,
// each for the ring timeout; claim offers it to one at a time with the
// whisper, and the first to press 1 takes it; instant call rings them all
// at once with the whisper.
func (s *Server) ringAgents(ctx context.Context, c *call, plan *callPlan, offerB []byte, onProvisional func(*forkEvent), ringFor time.Duration) ringOutcome {
	if plan.mode == router.ModeInstant {
		return s.ringInstant(ctx, c, plan, ringFor)
	}
	pressOne := c.svc.pressOne || plan.mode == router.ModeClaim
	offerFor := ringFor
	if plan.mode == router.ModeClaim && plan.decision != nil && plan.decision.ClaimTimeout > 0 {
		offerFor = plan.decision.ClaimTimeout
	}
	var best ringOutcome
	for i, a := range plan.agents {
		octx, cancel := context.WithTimeout(ctx, offerFor)
		out := c.ring(octx, a.targets, plan.from, offerB, onProvisional)
		cancel()
		if out.winner != nil && pressOne {
			if !s.accepted(ctx, c, out.winner) {
				out = ringOutcome{noAnswer: true}
			}
			out.accepted = out.winner != nil
		}
		if out.winner != nil {
			return out
		}
		if ctx.Err() != nil {
			break
		}
		switch {
		case out.noAnswer || octx.Err() != nil:
			best.noAnswer = true
		default:
			best.keep(out.code, out.reason)
		}
		if i+1 < len(plan.agents) {
			c.log.Info("agent did not take the call, offering it to the next", "agent", a.user, "status", out.code, "next", plan.agents[i+1].user)
		}
	}
	best.settle()
	return best
}

// tellRouter gives the lead to the agent who took the call: the claimer
// (claim, instant call) or, when the rotation's pick did not answer, the
// agent who did.
func (s *Server) tellRouter(c *call, plan *callPlan, user string) {
	d := plan.decision
	if d == nil || user == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), telephonyTimeout)
	defer cancel()
	var err error
	switch d.Mode {
	case router.ModeClaim, router.ModeInstant:
		err = s.opts.backend.Router.Claim(ctx, *d, user)
	case router.ModeRotation:
		err = s.opts.backend.Router.Answered(ctx, *d, user)
	default:
		return
	}
	switch {
	case errors.Is(err, router.ErrClaimed):
		c.log.Warn("lead was claimed by another agent meanwhile", "agent", user)
	case err != nil:
		c.log.Error("lead assignment not written", "agent", user, "error", err)
	default:
		c.log.Info("lead assigned", "agent", user, "mode", string(d.Mode))
	}
}

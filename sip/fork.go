package sip

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// target is one destination the gateway rings: a registered phone of a user
// or a number through a trunk.
type target struct {
	uri       gosip.Uri // Request-URI
	dest      string    // ip:port to send to (a phone's registration source); "" = by the URI
	transport string
	trunk     *Trunk // nil for phones
	username  string // the agent this target belongs to, "" for numbers
	to        gosip.Uri
}

// caller is how the gateway presents the calling party on leg B.
type caller struct {
	user, display string
}

// forkEvent is what a ringing target reports.
type forkEvent struct {
	t    *target
	sess *sipgo.DialogClientSession
	res  *gosip.Response // provisional, or the final response
	err  error           // final: no 2xx (ErrDialogResponse or transport error)
	done bool
}

// ringOutcome is how ringing ended.
type ringOutcome struct {
	winner *forkEvent // the fork that answered; nil if none
	code   int        // best final status when nobody answered
	reason string
	// accepted: the winner pressed 1 already (claim, instant call).
	accepted bool
	// noAnswer: an agent's phones rang for their whole time without an
	// answer (routed calls, where each agent has a ring time of its own).
	noAnswer bool
}

// ring sends INVITE with body to every target at once and returns when one
// answers (the others get CANCEL, RFC 3261 9.1), all have failed, ctx is
// done (ring timeout, caller cancelled), or a stop arrives. onProvisional
// sees every 1xx with its target.
func (c *call) ring(ctx context.Context, targets []*target, from caller, body []byte, onProvisional func(*forkEvent)) ringOutcome {
	rctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	events := make(chan *forkEvent, 4*len(targets)+4)
	pending := 0
	for _, t := range targets {
		req, err := c.s.newInvite(t, from, body, c.hops)
		if err != nil {
			c.log.Warn("sip fork not sent", "target", t.uri.String(), "error", err)
			continue
		}
		if !c.goFork() {
			break // the call is over
		}
		pending++
		go func() {
			defer c.forks.Done()
			c.fork(rctx, t, req, events)
		}()
	}
	var best ringOutcome
	for pending > 0 {
		select {
		case ev := <-events:
			if !ev.done {
				if onProvisional != nil {
					onProvisional(ev)
				}
				continue
			}
			pending--
			if ev.err == nil {
				best.winner = ev
				return best // cancelAll (deferred) cancels the others
			}
			best.merge(ev)
		case <-ctx.Done():
			best.settle()
			return best
		}
	}
	best.settle()
	return best
}

// goFork counts one more fork of the call, unless the call is finishing
// (then it reports false and no INVITE may go out).
func (c *call) goFork() bool { return c.joinUnlessFinishing(&c.forks) }

// merge keeps the most telling failure (RFC 3261 16.7 step 6, simplified):
// a 6xx beats a busy, a busy beats other 4xx, which beat 5xx, which beat a
// target that answered nothing at all (408).
func (o *ringOutcome) merge(ev *forkEvent) {
	code, reason := 408, "Request Timeout"
	var dr *sipgo.ErrDialogResponse
	if errors.As(ev.err, &dr) {
		code, reason = dr.Res.StatusCode, dr.Res.Reason
	}
	o.keep(code, reason)
}

// keep records a failure if it is more telling than the one kept.
func (o *ringOutcome) keep(code int, reason string) {
	if o.code == 0 || failureRank(code) > failureRank(o.code) {
		o.code, o.reason = code, reason
	}
}

func failureRank(c int) int {
	switch {
	case c >= 600:
		return 5
	case c == 486:
		return 4
	case c >= 400 && c < 500 && c != 408:
		return 3
	case c >= 500:
		return 2
	default:
		return 1
	}
}

// settle gives a ringing that got no final answer at all (no targets) a
// status.
func (o *ringOutcome) settle() {
	if o.code == 0 {
		o.code, o.reason = 480, "Temporarily Unavailable"
	}
}

// fork rings one target until it answers, fails or ctx is done.
func (c *call) fork(ctx context.Context, t *target, req *gosip.Request, events chan<- *forkEvent) {
	// Once ringing is over nobody reads events: a late report is dropped
	// (a late answer is hung up below).
	send := func(ev *forkEvent) {
		select {
		case events <- ev:
		case <-ctx.Done():
		}
	}
	ua := c.s.dialogUA(t.transport)
	if ua == nil {
		send(&forkEvent{t: t, err: errors.New("sip: no listener for transport " + t.transport), done: true})
		return
	}
	b := c.s.opts.backend
	sess, err := ua.WriteInvite(ctx, req)
	if err != nil {
		send(&forkEvent{t: t, err: err, done: true})
		return
	}
	// The invite timeout applies until the first response: a target that
	// answers nothing at all is given up (and the next trunk tried), one
	// that rings may ring on.
	//
	// A CANCEL may only be sent once a provisional response arrived (RFC
	// 3261 9.1). When ringing ends before this target answered anything,
	// the CANCEL waits for its first response; a target that answers
	// nothing within the invite timeout is given up without one (sipgo
	// forgets the transaction when the cause is its force error).
	var responded, ringEnded atomic.Bool
	wctx, cancel := context.WithCancelCause(context.Background())
	timer := time.AfterFunc(b.Calls.InviteTimeout, func() {
		if !responded.Load() {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	stop := context.AfterFunc(ctx, func() {
		ringEnded.Store(true)
		if responded.Load() {
			cancel(context.Canceled)
		}
	})
	defer stop()
	opts := sipgo.AnswerOptions{OnResponse: func(res *gosip.Response) error {
		timer.Stop()
		responded.Store(true)
		if ringEnded.Load() {
			cancel(context.Canceled)
		}
		if res.IsProvisional() && res.StatusCode != 100 {
			send(&forkEvent{t: t, sess: sess, res: res})
		}
		return nil
	}}
	if t.trunk != nil && t.trunk.Password != "" {
		opts.Username, opts.Password = t.trunk.Username, t.trunk.Password
	}
	werr := sess.WaitAnswer(wctx, opts)
	timer.Stop()
	cancel(nil)
	if werr != nil {
		_ = sess.Close()
		send(&forkEvent{t: t, sess: sess, err: werr, done: true})
		return
	}
	// Answered: if another fork won meanwhile (ctx done), this one is
	// acknowledged and hung up at once (RFC 3261 13.2.2.4).
	actx, acancel := context.WithTimeout(context.Background(), byeTimeout)
	defer acancel()
	if err := sess.Ack(actx); err != nil {
		c.log.Warn("sip ACK not sent", "error", err)
	}
	if ctx.Err() != nil {
		_ = sess.Bye(actx)
		_ = sess.Close()
		send(&forkEvent{t: t, sess: sess, err: context.Canceled, done: true})
		return
	}
	send(&forkEvent{t: t, sess: sess, res: sess.InviteResponse, done: true})
}

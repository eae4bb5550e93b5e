package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/recording"
)

// call is one call through the B2BUA: the caller's leg A (the gateway is
// its UAS), the callee's leg B (the gateway is its UAC), the media bridge
// between them and the call record. It is created by the INVITE handler and
// lives until both legs have ended and the record is closed.
type call struct {
	s      *Server
	log    *slog.Logger
	start  time.Time
	bridge *media.Bridge
	offerA media.Description
	hops   int // Max-Forwards of the outgoing legs
	// dialogIDs are the call's keys in the call table, by side (guarded
	// by the table's mutex).
	dialogIDs [2]string

	mu    sync.Mutex
	rec   billing.CallRecord
	a     dialogLeg // the caller's INVITE dialog, or the lead's leg of a call the gateway placed
	b     *sipgo.DialogClientSession
	forks sync.WaitGroup // fork goroutines, also the cancelled ones
	bg    sync.WaitGroup // other goroutines of the call (2xx retransmissions); see goBackground
	// finishing: finish has begun waiting for the call's goroutines, so
	// no new one may start.
	finishing bool
	// endAt is when the call ended for the caller (R-BILL-1): taken
	// before BYEs go out and before cleanup waits for forks a phone
	// never ends (a losing fork that does not answer CANCEL holds its
	// INVITE transaction for 64*T1), so that wait is never billed.
	endAt  time.Time
	acks   map[ackKey]chan struct{}
	ended  chan struct{} // closed by end
	endErr string
	once   sync.Once
	// finishOnce: the record is closed and the call counted once.
	finishOnce sync.Once
	// byeFromCaller is set before the caller's BYE is answered: the 200
	// to the INVITE may still wait for an ACK the BYE overtook.
	byeFromCaller atomic.Bool
	// active: answered and bridged; in-dialog requests are relayed.
	active bool
	// stopRinging ends the ringing of a call that is not answered yet
	// (the gateway is stopping).
	stopRinging context.CancelCauseFunc

	svc services
	// answerSDP is the gateway's answer to the caller's offer once made
	// (answerForA): a 183 may have carried it, and the 200 repeats it.
	answerSDP []byte
	ringback  context.CancelFunc // stops the gateway's ringback to the caller
	// digits receives the digits of side digitSide while the gateway
	// itself waits for one (press 1, # in voicemail).
	digits    chan rune
	digitSide int
	// whispering is set while the agent who answered hears the whisper;
	// closed when that agent hangs up.
	whispering   chan struct{}
	recording    *recording.Session
	voicemailBox string // the call is a voicemail for this user
	// stopping: the gateway stopped the call while it rang; it may not
	// be bridged any more (connect).
	stopping bool
	// placed: the gateway placed the call (click-to-call, a lead offered
	// to agents); leg A is the number called, leg B the agent.
	placed bool
	// spliced is the bridge of the agent who won an instant call, joined
	// to this call's bridge (see splice).
	spliced *media.Bridge
}

// errGatewayStopping is why ringing stops when the drain timeout passes.
var errGatewayStopping = errors.New("gateway stopping")

// end hangs the call up once: BYE to the legs that did not end it
// themselves, media released, record closed. by is the side whose BYE
// ended it (-1: the gateway ended it, e.g. media timeout), reason goes into
// the record.
func (c *call) end(by int, result billing.Result, code int, reason string) {
	c.once.Do(func() {
		c.markEnd()
		c.mu.Lock()
		a, b, active := c.a, c.b, c.active
		c.endErr = reason
		switch {
		case c.voicemailBox != "" && result == billing.ResultAnswered:
			result = billing.ResultVoicemail
		case !active && result == billing.ResultAnswered:
			// Hung up before the call was bridged (the agent of a
			// call the gateway placed, while the number rings).
			result, code = billing.ResultCancelled, 487
		}
		// Closed under the lock: a leg connected after this sees it
		// (connect) and is hung up by whoever connected it.
		close(c.ended)
		c.mu.Unlock()
		// Leg B is set once its phone answered (it may be hearing the
		// whisper, or ringback while the number rings); leg A can take a
		// BYE once the call is bridged.
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if by != 0 && a != nil && active {
			if err := a.Bye(ctx); err != nil {
				c.log.Debug("sip BYE to caller failed", "error", err)
			}
		}
		if by != 1 && b != nil {
			if err := b.Bye(ctx); err != nil {
				c.log.Debug("sip BYE to callee failed", "error", err)
			}
		}
		cancel()
		if a != nil {
			_ = a.Close()
		}
		if b != nil {
			_ = b.Close()
		}
		c.finish(result, code, reason)
	})
}

// byeTimeout bounds a BYE: its transaction gives up after 64*T1 anyway.
const byeTimeout = 10 * time.Second

// finish closes the record and frees the media; every call passes here
// once, answered or not.
func (c *call) finish(result billing.Result, code int, reason string) {
	c.finishOnce.Do(func() { c.finishNow(result, code, reason) })
}

// markEnd notes the moment the call ends, the first time it is called,
// and returns it.
func (c *call) markEnd() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endAt.IsZero() {
		c.endAt = c.s.opts.backend.Now()
	}
	return c.endAt
}

func (c *call) finishNow(result billing.Result, code int, reason string) {
	at := c.markEnd()
	c.mu.Lock()
	c.finishing = true
	c.mu.Unlock()
	c.forks.Wait()
	c.bg.Wait()
	if c.bridge != nil {
		c.bridge.Close()
	}
	c.mu.Lock()
	spliced := c.spliced
	c.mu.Unlock()
	if spliced != nil {
		spliced.Close()
	}
	c.closeRecording()
	b := c.s.opts.backend
	c.mu.Lock()
	id, dir := c.rec.ID, c.rec.Direction
	c.mu.Unlock()
	if id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := b.Records.EndCallRecord(ctx, id, billing.CallEnd{At: at, Result: result, SIPCode: code, SIPReason: reason})
		cancel()
		if err != nil {
			c.log.Error("call record not closed", "record", id, "error", err)
		}
	}
	c.s.metrics.calls.WithLabelValues(string(dir), string(result)).Inc()
	c.s.metrics.activeCalls.Dec()
	c.log.Info("call ended", "result", result, "sip_code", code, "reason", reason)
	c.s.calls.remove(c)
}

// answered marks the call bridged and records it, unless the call has
// ended meanwhile (the agent hung up) or the gateway has stopped it while it
// rang: then it reports false and the call is not to be answered.
func (c *call) answered(username, trunk string) bool {
	b := c.s.opts.backend
	now := b.Now()
	c.mu.Lock()
	if c.hasEnded() || c.stopping {
		c.mu.Unlock()
		return false
	}
	c.active = true
	id := c.rec.ID
	c.mu.Unlock()
	c.s.metrics.setup.Observe(now.Sub(c.start).Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Records.AnswerCallRecord(ctx, id, now, username); err != nil {
		c.log.Error("call record answer not written", "record", id, "error", err)
	}
	if trunk != "" && trunk != c.rec.Trunk {
		if err := b.Records.SetCallTrunk(ctx, id, trunk); err != nil {
			c.log.Error("call record trunk not written", "record", id, "error", err)
		}
	}
	return true
}

// supervise ends an answered call at the maximum duration (R-BILL-7).
func (c *call) supervise(maxDuration time.Duration) {
	if maxDuration <= 0 {
		return
	}
	t := time.NewTimer(maxDuration)
	defer t.Stop()
	select {
	case <-t.C:
		c.log.Info("call reached the maximum duration", "max", maxDuration.String())
		c.end(-1, billing.ResultAnswered, 200, "max duration")
	case <-c.ended:
	}
}

// dialogLeg is the dialog of one leg of a call. The gateway is the UAS of
// a caller's leg (*sipgo.DialogServerSession) and the UAC of every leg it
// places (*sipgo.DialogClientSession): the callee of any call, and both
// legs of a call the gateway places itself (click-to-call, a lead offered
// to agents), where the lead is leg A.
type dialogLeg interface {
	// Do sends a request within the dialog and waits for its final
	// response.
	Do(context.Context, *gosip.Request) (*gosip.Response, error)
	WriteRequest(*gosip.Request) error
	ReadBye(*gosip.Request, gosip.ServerTransaction) error
	Bye(context.Context) error
	Close() error
}

// session returns the dialog of side (0 caller, 1 callee), nil while that
// leg has none.
func (c *call) session(side int) dialogLeg {
	c.mu.Lock()
	defer c.mu.Unlock()
	if side == 0 {
		return c.a
	}
	if c.b == nil {
		return nil
	}
	return c.b
}

// inbound is the caller's INVITE dialog, nil for a call the gateway placed
// itself (its leg A is the gateway's UAC).
func (c *call) inbound() *sipgo.DialogServerSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := c.a.(*sipgo.DialogServerSession)
	return d
}

// remoteTarget is the URI in-dialog requests to side are addressed to: the
// Contact the other end gave (RFC 3261 12.2.1.1), in its INVITE (a caller)
// or in its 2xx (a leg the gateway placed).
func (c *call) remoteTarget(side int) (gosip.Uri, error) {
	var h *gosip.ContactHeader
	switch d := c.session(side).(type) {
	case *sipgo.DialogServerSession:
		h = d.InviteRequest.Contact()
	case *sipgo.DialogClientSession:
		if d.InviteResponse != nil {
			h = d.InviteResponse.Contact()
		}
	}
	if h == nil {
		return gosip.Uri{}, fmt.Errorf("sip: no remote target for leg %d", side)
	}
	return *h.Address.Clone(), nil
}

func (c *call) ringingStopper() context.CancelCauseFunc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopRinging
}

func (c *call) isActive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// connect gives the call the dialog a leg the gateway placed on side, and
// with active marks the call bridged, unless the call has ended meanwhile
// (the other party hung up) or, for active, the gateway has stopped it:
// then it reports false, and the leg is the caller's to hang up.
func (c *call) connect(side int, sess *sipgo.DialogClientSession, active bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
		return false
	default:
	}
	if active && c.stopping {
		return false
	}
	if side == 0 {
		c.a = sess
	} else {
		c.b = sess
	}
	c.active = c.active || active
	c.s.calls.setDialog(c, side, sess.ID)
	return true
}

// calleeMedia points the bridge's side B at where the callee who answered
// (sess) wants media, from its 2xx. An instant call's winner is spliced
// already: its media reaches side B through its own bridge.
func (c *call) calleeMedia(sess *sipgo.DialogClientSession) error {
	c.mu.Lock()
	spliced := c.spliced != nil
	c.mu.Unlock()
	if spliced {
		return nil
	}
	d, err := media.ParseSDP(sess.InviteResponse.Body())
	if err != nil {
		return fmt.Errorf("callee answered without usable SDP: %w", err)
	}
	if err := c.bridge.SetRemote(media.SideB, d); err != nil {
		return fmt.Errorf("callee SDP: %w", err)
	}
	return nil
}

// party names side for the record: who hung up.
func (c *call) party(side int) string {
	switch {
	case c.placed && side == 0:
		return "the number called"
	case c.placed:
		return "agent"
	case side == 0:
		return "caller"
	}
	return "callee"
}

// hasEnded reports whether the call has ended (end has run).
func (c *call) hasEnded() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// goBackground counts one more goroutine of the call in bg, unless the call
// is finishing (then it reports false and the goroutine must not start).
func (c *call) goBackground() bool { return c.joinUnlessFinishing(&c.bg) }

// joinUnlessFinishing adds one to wg, the forks or the other goroutines of
// the call, unless the call is finishing: finish waits for both groups, so
// nothing may join them once it has begun.
func (c *call) joinUnlessFinishing(wg *sync.WaitGroup) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finishing {
		return false
	}
	wg.Add(1)
	return true
}

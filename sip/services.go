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
	"github.com/teamline/teamline/media/prompts"
	"github.com/teamline/teamline/recording"
)

// services is what a call gets besides the bridge: the consent prompt,
// recording, press 1 to accept and voicemail, decided once from the
// account settings when the call starts.
type services struct {
	consent    bool   // the party outside the team hears the consent prompt before the bridge
	consentWhy string // why or why not, for the call record ("all", "two-party:CA", "one-party:TX", "unknown")
	record     bool   // the account records calls (the quota is checked when recording starts)
	pressOne   bool   // the agent must press 1 before being bridged (R-IN-7)
	voicemail  bool   // an unanswered call goes to the user's voicemail (R-IN-4)
}

// servicesFor decides a call's services. Calls between two phones of the
// team are neither recorded nor announced; voicemail and press 1 apply to
// calls from outside to a user.
func (s *Server) servicesFor(c *call, plan *callPlan, st directory.Settings, haveSettings bool) services {
	b := s.opts.backend
	var sv services
	if !haveSettings || c.rec.Direction == billing.Internal {
		return sv
	}
	outside := c.rec.From
	if c.rec.Direction == billing.Outbound {
		outside = c.rec.To
	}
	sv.record = st.RecordingEnabled && b.Recordings != nil
	if st.RecordingEnabled {
		switch st.ConsentPrompt {
		case "all":
			sv.consent, sv.consentWhy = true, "all"
		case "two_party":
			sv.consent, sv.consentWhy = true, "unknown"
			if b.Consent != nil {
				sv.consent, sv.consentWhy = b.Consent.NeedsConsent(outside)
			}
		}
	}
	if c.rec.Direction == billing.Inbound && plan.username != "" {
		sv.pressOne = st.PressOneToClaim
		sv.voicemail = st.Voicemail && b.Recordings != nil
	}
	return sv
}

// earlyMedia answers the caller's offer in a 183 Session Progress so the
// gateway can play to the caller before anyone answers (RFC 3960 early
// media): the consent prompt, then ringback. The 200 later carries the
// same answer (RFC 3264 does not allow a second, different answer).
func (s *Server) earlyMedia(c *call, dtx *sipgo.DialogServerSession) error {
	body, err := s.answerForA(c)
	if err != nil {
		return err
	}
	c.relay(false)
	c.bridge.Start()
	res := gosip.NewResponseFromRequest(dtx.InviteRequest, 183, "Session Progress", body)
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	return dtx.WriteResponse(res)
}

// relay turns both directions of the bridge on or off: off while the
// gateway alone speaks to a side (consent prompt, ringback, whisper), on
// once the two sides are bridged.
func (c *call) relay(on bool) {
	c.bridge.SetRelay(media.SideA, on)
	c.bridge.SetRelay(media.SideB, on)
}

// playConsent plays the consent prompt toward side and notes it on the
// call record. It reports whether the prompt played to its end.
func (s *Server) playConsent(ctx context.Context, c *call, side media.Side) bool {
	b := s.opts.backend
	at := b.Now()
	err := c.bridge.Play(ctx, side, b.Prompts.Source(prompts.Consent))
	what := "played:" + c.svc.consentWhy
	if err != nil {
		what = "interrupted:" + c.svc.consentWhy
	}
	c.noteConsent(what, at)
	c.log.Info("consent prompt", "outcome", what)
	return err == nil
}

// noteConsent writes what the consent decision did to the call record.
func (c *call) noteConsent(what string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), telephonyTimeout)
	defer cancel()
	if err := c.s.opts.backend.Records.SetCallConsent(ctx, c.rec.ID, what, at); err != nil {
		c.log.Error("call record consent not written", "error", err)
	}
}

// startRingback plays ringback to the caller while agents ring, for a
// caller that already has the gateway's early media (its phone does not
// ring locally then). Stopped by stopRingback or when a callee's early
// media takes over.
func (c *call) startRingback(side media.Side) {
	ctx, cancel := c.untilEnded()
	c.mu.Lock()
	c.ringback = cancel
	c.mu.Unlock()
	if !c.goBackground() {
		cancel()
		return
	}
	go func() {
		defer c.bg.Done()
		_ = c.bridge.Play(ctx, side, media.Ringback())
	}()
}

func (c *call) stopRingback() {
	c.mu.Lock()
	stop := c.ringback
	c.ringback = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// listen routes the digits side sends (RFC 4733, in-band or INFO) to the
// returned channel until unlisten. A full channel drops digits: whoever
// listens waits for one digit at a time.
func (c *call) listen(side media.Side) <-chan rune {
	ch := make(chan rune, 8)
	c.mu.Lock()
	c.digits, c.digitSide = ch, int(side)
	c.mu.Unlock()
	c.bridge.OnDTMF(func(from media.Side, d rune, how string) { c.digit(int(from), d, how) })
	return ch
}

func (c *call) unlisten() {
	c.bridge.OnDTMF(nil)
	c.mu.Lock()
	c.digits, c.digitSide = nil, -1
	c.mu.Unlock()
}

// listening tells whether digits from side are wanted by the gateway
// itself (then INFO digits are taken, not relayed).
func (c *call) listening(side int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.digits != nil && c.digitSide == side
}

func (c *call) digit(side int, d rune, how string) {
	c.mu.Lock()
	ch := c.digits
	ok := ch != nil && c.digitSide == side
	c.mu.Unlock()
	if !ok {
		return
	}
	c.log.Debug("dtmf digit", "leg", side, "digit", string(d), "method", how)
	select {
	case ch <- d:
	default:
	}
}

// accepted plays the whisper to the agent who answered and waits for the
// digit 1 (R-IN-7). The caller hears ringing meanwhile and nothing of the
// agent. Without the digit within the accept timeout, or when the agent
// hangs up, the agent's leg is ended and accepted reports false.
func (s *Server) accepted(ctx context.Context, c *call, win *forkEvent) bool {
	sess := win.sess
	gone := make(chan struct{})
	if !c.connect(1, sess, false) {
		s.hangUp(sess, nil) // the caller hung up meanwhile
		return false
	}
	c.mu.Lock()
	c.whispering = gone
	c.mu.Unlock()
	reject := func(why string) bool {
		c.log.Info("agent did not accept the call", "by", win.t.username, "why", why)
		c.mu.Lock()
		c.b, c.whispering = nil, nil
		c.mu.Unlock()
		s.calls.clearDialog(c, 1)
		s.hangUp(sess, gone)
		return false
	}
	if err := c.calleeMedia(sess); err != nil {
		return reject(err.Error())
	}
	c.relay(false)
	c.bridge.Start()
	digits := c.listen(media.SideB)
	defer c.unlisten()
	if why := s.awaitOne(ctx, c, c.bridge, digits, gone); why != "" {
		return reject(why)
	}
	c.mu.Lock()
	c.whispering = nil
	c.mu.Unlock()
	c.log.Info("agent accepted the call", "by", win.t.username)
	return true
}

// awaitOne plays the whisper for the call's role to side B of br and waits
// up to the accept timeout for the digit 1 from digits. It returns "" when
// the 1 came, else why not: the agent hung up (gone closed), the timeout
// passed, or ctx ended (the caller hung up, another agent took the call,
// the gateway is stopping). The whisper has stopped when it returns.
func (s *Server) awaitOne(ctx context.Context, c *call, br *media.Bridge, digits <-chan rune, gone <-chan struct{}) string {
	b := s.opts.backend
	wctx, cancel := context.WithTimeout(ctx, b.Calls.AcceptTimeout)
	played := make(chan struct{})
	go func() {
		defer close(played)
		_ = br.Play(wctx, media.SideB, b.Prompts.Source(prompts.WhisperFor(c.rec.Role)))
	}()
	defer func() {
		cancel()
		<-played
	}()
	for {
		select {
		case d := <-digits:
			if d == '1' {
				return ""
			}
		case <-gone:
			return "hung up"
		case <-wctx.Done():
			if ctx.Err() != nil {
				return "ringing ended (caller hung up, another agent took the call, or the gateway is stopping)"
			}
			return "no digit 1 within the accept timeout"
		}
	}
}

// voicemail answers the caller for the user's voicemail box (R-IN-4):
// greeting, beep, then the caller's message is recorded until the caller
// hangs up, presses #, or the maximum length passes.
func (s *Server) voicemail(c *call, dtx *sipgo.DialogServerSession, username string, maxDuration time.Duration) {
	c.stopRingback()
	body, err := s.answerForA(c)
	if err != nil {
		s.failA(c, 488, "Not Acceptable Here", billing.ResultFailed, err.Error())
		return
	}
	c.bridge.SetRelay(media.SideA, false)
	c.bridge.Start()
	c.mu.Lock()
	c.voicemailBox = username
	c.mu.Unlock()
	if !c.answered(username, "") {
		code, reason, why := s.unanswerable(c)
		s.failA(c, code, reason, billing.ResultFailed, why)
		return
	}
	res := s.answerResponse(dtx, body)
	c.log.Info("call answered by voicemail", "box", username)
	go c.supervise(maxDuration)
	if c.goBackground() {
		go func() {
			defer c.bg.Done()
			s.takeMessage(c, username)
		}()
	}
	if err := dtx.WriteResponse(res); err != nil && !c.byeFromCaller.Load() {
		c.log.Warn("caller never acknowledged the answer", "error", err)
		c.end(-1, billing.ResultFailed, 200, "no ACK from caller")
	}
}

// takeMessage runs the voicemail box once the caller is answered.
func (s *Server) takeMessage(c *call, username string) {
	b := s.opts.backend
	ctx, cancel := c.untilEnded()
	defer cancel()
	greeting, _ := b.Prompts.Greeting(username)
	beep := media.Beep(1000, 250*time.Millisecond)
	if err := c.bridge.Play(ctx, media.SideA, media.Concat(greeting, media.Silence(200*time.Millisecond), beep)); err != nil {
		return
	}
	sess, err := b.Recordings.Start(ctx, c.recordingOf(recording.KindVoicemail, username), 1)
	if err != nil {
		c.log.Warn("voicemail not recorded", "error", err)
		_ = c.bridge.Play(ctx, media.SideA, b.Prompts.Source(prompts.CannotComplete))
		// end waits for the call's background goroutines, this one
		// among them: it runs on its own.
		go c.end(-1, billing.ResultVoicemail, 200, "voicemail not recorded")
		return
	}
	c.setRecording(sess)
	digits := c.listen(media.SideA)
	defer c.unlisten()
	limit := time.NewTimer(b.Voicemail.MaxLength)
	defer limit.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-digits:
			if d == '#' {
				break wait
			}
		case <-limit.C:
			break wait
		}
	}
	c.bridge.SetSink(nil)
	_ = c.bridge.Play(ctx, media.SideA, b.Prompts.Source(prompts.Goodbye))
	go c.end(-1, billing.ResultVoicemail, 200, "voicemail complete")
}

// recordingOf is the index entry of a new recording of this call.
func (c *call) recordingOf(kind recording.Kind, username string) recording.Recording {
	c.mu.Lock()
	defer c.mu.Unlock()
	return recording.Recording{
		CallRecordID: c.rec.ID, CallID: c.rec.CallID, Kind: kind, Username: username,
		LeadID: c.rec.LeadID, From: c.rec.From, To: c.rec.To,
	}
}

// startRecording records the bridged call in stereo, caller left and agent
// right. A full quota or a failing disk leaves the call unrecorded, never
// failed; the service logs and counts why.
func (s *Server) startRecording(c *call, username string) {
	b := s.opts.backend
	ctx, cancel := context.WithTimeout(context.Background(), telephonyTimeout)
	defer cancel()
	sess, err := b.Recordings.Start(ctx, c.recordingOf(recording.KindCall, username), 2)
	if err != nil {
		if !errors.Is(err, recording.ErrQuotaFull) && !errors.Is(err, recording.ErrDisabled) {
			c.log.Error("call not recorded", "error", err)
		}
		return
	}
	c.setRecording(sess)
}

// setRecording attaches a recording to the call: the bridge feeds it, and
// finish closes it.
func (c *call) setRecording(sess *recording.Session) {
	c.mu.Lock()
	c.recording = sess
	c.mu.Unlock()
	c.bridge.SetSink(sess)
	c.log.Info("recording started", "recording", sess.ID())
}

// closeRecording finishes the call's recording, if any, after the bridge
// has stopped feeding it; a voicemail then lights the box's phones.
func (c *call) closeRecording() {
	c.mu.Lock()
	sess, box := c.recording, c.voicemailBox
	c.recording = nil
	c.mu.Unlock()
	if sess == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := sess.Close(ctx)
	if err != nil {
		c.log.Error("recording not finished", "recording", sess.ID(), "error", err)
		return
	}
	c.log.Info("recording finished", "recording", r.ID, "duration_ms", r.DurationMS, "bytes", r.SizeBytes)
	if box != "" && c.s.opts.backend.Voicemail.MWI {
		c.s.notifyMWI(ctx, c.log, box)
	}
}

// untilEnded returns a context cancelled when the call ends (or by
// cancel, which the caller must call).
func (c *call) untilEnded() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-c.ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// agent is the user of the team on a call: the one who answered, else
// (an outbound call through a trunk) the one who called.
func (c *call) agent(win *forkEvent) string {
	if win != nil && win.t.username != "" {
		return win.t.username
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.Username
}

package softphones

import (
	"testing"
	"time"
)

// phone is a softphone as the shared scenario drives it: registered as
// alice, answering calls by itself, sending its own tone.
type phone interface {
	// name is the phone's name in failure messages.
	name() string
	// userAgent is a part of its REGISTER's User-Agent header.
	userAgent() string
	// tone is the frequency of what it sends, in Hz.
	tone() float64
	// prepare is told before each call which one comes next ("inbound",
	// "outbound").
	prepare(t *testing.T, call string)
	// dial calls a number.
	dial(t *testing.T, number string)
	// hangUp ends the call in progress.
	hangUp(t *testing.T)
	// received is what the phone got of that call (its speaker), once the
	// call is over.
	received(t *testing.T, call string) wav
}

// talkTime is how long an outbound call lasts once answered, so that each
// side sends a few seconds of audio (the inbound carrier hangs up after 3 s).
const talkTime = 3 * time.Second

// exercise runs what a user of the phone does: it registers (digest
// authentication, checked by the gateway listing it), takes a call from
// the carrier, auto-answering, with audio both ways, then calls a number
// that leaves through the outbound trunk with alice's caller ID.
func exercise(t *testing.T, l *lab, p phone) {
	reg := l.waitRegistered(t, agent, p.userAgent())
	t.Logf("%s registered: %+v", p.name(), reg)

	// The carrier calls alice's personal number; the phone answers. The
	// recording has the carrier's tone on the left (caller) and the
	// phone's on the right (agent); the phone heard the carrier.
	p.prepare(t, "inbound")
	l.callIn(t)
	in := l.endedCall(t, "inbound")
	assertAnswered(t, in, "carrier-in", callerNumber, agentNumber)
	rec := l.recording(t, in.ID)
	assertTone(t, "inbound call's recording, left channel", rec.channels[0], rec.rate, carrierTone, "the carrier")
	assertTone(t, "inbound call's recording, right channel", rec.channels[1], rec.rate, p.tone(), p.name())
	heard := p.received(t, "inbound")
	assertTone(t, "what "+p.name()+" received of the inbound call", heard.channels[0], heard.rate, carrierTone, "the carrier")

	// The phone dials a number: the call leaves through carrier-out, from
	// alice's default number, and the carrier answers. The phone hangs up
	// after a while.
	p.prepare(t, "outbound")
	p.dial(t, dialed)
	inv := l.trunk.invite(t)
	if got := fromUser(t, inv); got != agentNumber {
		t.Errorf("the outbound carrier got the caller ID %q, want alice's default number %s; INVITE:\n%s", got, agentNumber, inv)
	}
	waitFor(t, 30*time.Second, "the outbound call answered", func() bool {
		for _, c := range l.calls(t) {
			if c.Direction == "outbound" && !c.Answer.IsZero() {
				return true
			}
		}
		return false
	})
	time.Sleep(talkTime)
	p.hangUp(t)
	l.trunk.wait(t)
	out := l.endedCall(t, "outbound")
	assertAnswered(t, out, "carrier-out", agent, dialedE164)
	if out.Dialed != agentNumber {
		t.Errorf("outbound call record: caller ID %q, want %s", out.Dialed, agentNumber)
	}
	rec = l.recording(t, out.ID)
	assertTone(t, "outbound call's recording, left channel", rec.channels[0], rec.rate, p.tone(), p.name())
	assertTone(t, "outbound call's recording, right channel", rec.channels[1], rec.rate, trunkTone, "the outbound carrier")
	heard = p.received(t, "outbound")
	assertTone(t, "what "+p.name()+" received of the outbound call", heard.channels[0], heard.rate, trunkTone, "the outbound carrier")
}

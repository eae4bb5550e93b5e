package sip_test

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/sip"
)

// The agent who wins an instant call talks through a bridge of its own,
// spliced to the call's: a hold and a resume from that agent reach the
// caller, the agent keeps the media address it was given, the silence of
// the hold does not end the call (media timeout), and the two hear each
// other after the resume.
func TestInstantCallWinnerHoldsAndResumes(t *testing.T) {
	const mediaTimeout = 1500 * time.Millisecond
	eng, err := media.NewEngine(slog.New(slog.DiscardHandler), media.Config{
		BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 32000, PortMax: 32099,
		Quarantine: 10 * time.Millisecond, MediaTimeout: mediaTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	gw := startGatewayWith(t, strings.Replace(routingTeam, "%s", "true", 1)+`
rules:
  - {name: everyone, active: true, criteria: {source: [inbound call]}, distribution: instant_call,
     agents: [{user: bob}]}
`, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Media = eng
	})
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	type answered struct {
		sess *sipgo.DialogClientSession
		err  error
	}
	done := make(chan answered, 1)
	go func() {
		sess, err := trunk.call(gw, "+15125550100", "+17375550033", nil)
		done <- answered{sess, err}
	}()
	eventually(t, "the whisper at bob", func() bool { return bob.rtp.received.Load() > 5 })
	bob.rtp.sendDigit(t, 1)
	a := <-done
	if a.err != nil {
		t.Fatalf("call: %v", a.err)
	}
	bob.mu.Lock()
	d := bob.dialogs[0]
	bob.mu.Unlock()
	offered, err := media.ParseSDP(d.InviteRequest.Body())
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"sendonly", "sendrecv"} {
		ans := reinviteAnswered(t, bob, dir)
		if ans.Addr != offered.Addr || ans.Port != offered.Port {
			t.Errorf("re-INVITE %s: the gateway moved bob's media from %v:%d to %v:%d", dir, offered.Addr, offered.Port, ans.Addr, ans.Port)
		}
		if dir == "sendonly" {
			// On hold nobody sends, for longer than the media timeout.
			time.Sleep(mediaTimeout + time.Second)
			if bob.byes.Load() != 0 {
				t.Fatal("the call was hung up while bob held it")
			}
		}
	}
	trunk.mu.Lock()
	holds := append([]media.Direction(nil), trunk.holds...)
	trunk.mu.Unlock()
	if len(holds) != 2 || holds[0] != media.Sendonly || holds[1] != media.Sendrecv {
		t.Errorf("the carrier saw re-INVITEs with directions %v, want [sendonly sendrecv]", holds)
	}
	atBob, atTrunk := bob.rtp.received.Load(), trunk.rtp.received.Load()
	trunk.rtp.send(t, 20)
	bob.rtp.send(t, 20)
	eventually(t, "the caller's audio at bob", func() bool { return bob.rtp.received.Load() >= atBob+10 })
	eventually(t, "bob's audio at the caller", func() bool { return trunk.rtp.received.Load() >= atTrunk+10 })
	hangup(t, a.sess)
	eventually(t, "BYE relayed to bob", func() bool { return bob.byes.Load() == 1 })
}

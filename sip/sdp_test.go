package sip_test

import (
	"context"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"testing"

	"github.com/teamline/teamline/billing"
)

// badOffers are INVITE bodies the gateway cannot use, with the status the
// caller must get.
var badOffers = []struct {
	name string
	body string
	want int
}{
	{"garbage", "hello", 400},
	{"no audio", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", 488},
	{"no connection address", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", 400},
	{"empty", "", 488},
	{"only Opus", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", 488},
}

func TestBadOffers(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	for _, tt := range badOffers {
		t.Run(tt.name, func(t *testing.T) {
			res := trunk.inviteWithBody(t, gw, "+15125550110", tt.body)
			if res == nil || res.StatusCode != tt.want {
				t.Fatalf("got %v, want %d", res, tt.want)
			}
		})
	}
	if n := alice.invites.Load(); n != 0 {
		t.Errorf("alice's phone rang %d times for unusable offers", n)
	}
	// A looping call runs out of hops.
	req := newInvite(t, "udp", gw.Addr("udp"))
	req.Recipient.User = "+15125550110"
	mf := gosip.MaxForwardsHeader(0)
	req.AppendHeader(&mf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	res, err := trunk.client.Do(ctx, req)
	cancel()
	if err != nil || res.StatusCode != 483 {
		t.Errorf("Max-Forwards 0: %v %v, want 483", res, err)
	}
	// The gateway is still fine: a good call goes through.
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call after bad offers: %v", err)
	}
	hangup(t, sess)
	eventually(t, "record closed", func() bool { return lastRecord(t, gw).Result == billing.ResultAnswered })
}

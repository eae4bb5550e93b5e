package sip_test

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/sip"
)

// TestDrain: on stop, new calls get 503 with Retry-After while a call in
// progress runs on; when it does not end by the drain timeout, both legs
// get BYE and the record says why.
func TestDrain(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource, Outbound: true}}
		b.Calls.DrainTimeout = 1500 * time.Millisecond
	})
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	if _, err := trunk.call(gw, "+15125550110", "+17375559999", nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	// A second call still rings when the drain timeout passes.
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	bob.answer.Store("ignore")
	ringing := make(chan error, 1)
	lead := newPhone(t, "127.0.0.2")
	go func() {
		_, err := lead.call(gw, "+15125550100", "+17375550001", nil)
		ringing <- err
	}()
	eventually(t, "bob's phone rings", func() bool { return bob.invites.Load() == 1 })

	stopped := make(chan error, 1)
	go func() { stopped <- gw.stop() }()

	other := newPhone(t, "127.0.0.2")
	eventually(t, "503 for new calls", func() bool {
		res := other.invite(t, gw, "+15125550777")
		if res != nil && res.StatusCode == 503 {
			if h := res.GetHeader("Retry-After"); h == nil {
				t.Error("503 without Retry-After")
			}
			return true
		}
		return false
	})
	// The call in progress still carries audio.
	trunk.rtp.send(t, 10)
	eventually(t, "RTP during the drain", func() bool { return alice.rtp.received.Load() >= 5 })

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not stop after the drain timeout")
	}
	if err := <-ringing; statusOf(t, err) != 503 {
		t.Errorf("call ringing at the drain timeout: %v, want 503", err)
	}
	if bob.cancels.Load() != 1 {
		t.Error("bob's ringing phone got no CANCEL")
	}
	if alice.byes.Load() != 1 || trunk.byes.Load() != 1 {
		t.Errorf("BYEs after the drain timeout: alice %d, trunk %d; want 1 each", alice.byes.Load(), trunk.byes.Load())
	}
	rs, err := gw.store.ListCallRecords(context.Background(), billing.CallFilter{Username: "alice"})
	if err != nil || len(rs) != 1 || rs[0].SIPReason != "gateway stopped" || rs[0].Result != billing.ResultAnswered {
		t.Errorf("records = %+v (%v)", rs, err)
	}
}

// TestRecordsLeftOpenAreClosedAtStart: a record of this node that a crash
// left open is closed as interrupted when the gateway starts.
func TestRecordsLeftOpenAreClosedAtStart(t *testing.T) {
	var st billing.CallRecords
	var id int64
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		st = b.Records
		r := &billing.CallRecord{CallID: "crashed", Node: b.Node, Direction: billing.Inbound, Start: time.Now().Add(-time.Minute)}
		if err := st.CreateCallRecord(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		id = r.ID
	})
	eventually(t, "record closed", func() bool {
		r, err := gw.store.GetCallRecord(context.Background(), id)
		return err == nil && r.Result == billing.ResultInterrupted && !r.End.IsZero()
	})
}

func TestMaxDurationAndMediaTimeout(t *testing.T) {
	sip.SetMinute(t, 300*time.Millisecond)
	team := strings.Replace(gatewayTeam, "settings:\n", "settings:\n  max_call_minutes: 1\n", 1)
	gw := startGateway(t, team, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	if _, err := trunk.call(gw, "+15125550110", "+17375559999", nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "BYE to both legs", func() bool { return alice.byes.Load() == 1 && trunk.byes.Load() == 1 })
	if r := closedRecord(t, gw); r.SIPReason != "max duration" || r.Result != billing.ResultAnswered {
		t.Errorf("record = %+v", r)
	}

	// Media timeout: a gateway whose calls end when no RTP flows.
	eng, err := media.NewEngine(slog.New(slog.DiscardHandler), media.Config{
		BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 32000, PortMax: 32099,
		Quarantine: 10 * time.Millisecond, MediaTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	gw2 := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Media = eng
	})
	alice2 := registered(t, gw2, "alice", "alice-pw-1", "127.0.0.1")
	trunk2 := newPhone(t, "127.0.0.2")
	if _, err := trunk2.call(gw2, "+15125550110", "+17375559999", nil); err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "BYE to both legs", func() bool { return alice2.byes.Load() == 1 && trunk2.byes.Load() == 1 })
	if r := closedRecord(t, gw2); r.SIPReason != "media timeout" {
		t.Errorf("record = %+v", r)
	}
}

package sip_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/internal/sipptest"
)

// sippRun is one SIPp process of a test.
type sippRun struct{ *sipptest.Run }

// startSIPp starts SIPp bound to ip with the scenario files of
// internal/sipptest (args may add -oocsf and the like), calling the
// gateway's UDP address.
func startSIPp(ctx context.Context, t *testing.T, gw *gateway, name, ip string, args ...string) *sippRun {
	t.Helper()
	return runSIPp(ctx, t, name, append([]string{
		"-sf", sipptest.Scenario(name + ".xml"),
		"-i", ip, "-p", strconv.Itoa(sipptest.FreeUDPPort(t, ip)), "-mp", strconv.Itoa(sipptest.FreeUDPPort(t, ip)),
	}, append(args, gw.Addr("udp"))...)...)
}

// runSIPp runs one SIPp call (-m 1, at most 20 s) with args, its errors
// and messages traced into the test's temporary directory; ctx's end stops
// it.
func runSIPp(ctx context.Context, t *testing.T, name string, args ...string) *sippRun {
	t.Helper()
	r := &sippRun{sipptest.Start(t, name, 20*time.Second, args...)}
	stop := context.AfterFunc(ctx, r.Kill)
	t.Cleanup(func() { stop() })
	return r
}

// wait waits for SIPp to exit and fails the test unless it exited 0.
func (r *sippRun) wait(t *testing.T, gw *gateway) {
	t.Helper()
	if <-r.Done(); r.Err != nil {
		t.Fatalf("sipp %s: %v\n%s", r.Name, r.Err, r.report(gw))
	}
}

// report is what SIPp logged and the gateway's log, for a failure message.
func (r *sippRun) report(gw *gateway) string {
	return r.Report() + "\n--- gateway log:\n" + gw.logs.String()
}

// TestSIPpAudioThroughTheGateway: the carrier (SIPp) plays A-law audio
// into a call to alice, whose phone (SIPp) accepts only PCMU and names a
// receiver of the test as its RTP address: the audio arrives there through
// the gateway's ports, transcoded to PCMU.
func TestSIPpAudioThroughTheGateway(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ear := newRTPPeer(t, "127.0.0.1")
	port := strconv.Itoa(ear.conn.LocalAddr().(*net.UDPAddr).Port)
	agent := startSIPp(ctx, t, gw, "agent", "127.0.0.1",
		"-oocsf", sipptest.Scenario("agent_answer_rtp.xml"), "-set", "rtpport", port)
	waitRegistered(ctx, t, gw, agent, "alice")
	trunk := startSIPp(ctx, t, gw, "trunk_rtp", "127.0.0.2")
	trunk.wait(t, gw)
	agent.wait(t, gw)
	t.Logf("alice received %d RTP packets", ear.received.Load())
	if n := ear.received.Load(); n < 50 {
		t.Errorf("alice's RTP address got %d packets through the gateway, want the carrier's audio (50 or more)", n)
	}
	if n := ear.notPCMU.Load(); n != 0 {
		t.Errorf("%d packets reached alice with a payload type other than PCMU", n)
	}
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Username != "alice" {
		t.Errorf("record = %+v", r)
	}
}

// waitRegistered waits until user has a registered contact, failing early
// if the SIPp phone exits.
func waitRegistered(ctx context.Context, t *testing.T, gw *gateway, phone *sippRun, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs, err := gw.store.ListContacts(ctx, user, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 {
			return
		}
		select {
		case <-phone.Done():
			t.Fatalf("sipp %s exited before %s registered: %v\n%s", phone.Name, user, phone.Err, phone.report(gw))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not register\n%s", user, phone.report(gw))
		}
	}
}

// TestSIPpInboundCall puts a real call through the gateway with SIPp at
// both ends: alice's phone registers (digest authentication) and answers,
// the carrier calls her personal number from the trunk's address and hangs
// up after a second.
func TestSIPpInboundCall(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	agent := startSIPp(ctx, t, gw, "agent", "127.0.0.1",
		"-oocsf", sipptest.Scenario("agent_answer.xml"))
	waitRegistered(ctx, t, gw, agent, "alice")

	trunk := startSIPp(ctx, t, gw, "trunk", "127.0.0.2")
	trunk.wait(t, gw)
	agent.wait(t, gw)

	r := closedRecord(t, gw)
	if r.Result != billing.ResultAnswered || r.Username != "alice" || r.Direction != billing.Inbound ||
		r.Dialed != "+15125550110" || r.Trunk != "carrier" || r.SIPReason != "BYE from caller" {
		t.Errorf("record = %+v", r)
	}
}

// TestSIPpBusyAndCancel: SIPp phones that are busy, or ring until the
// carrier (SIPp) gives up: the carrier gets 486, or 487 after its CANCEL,
// and the phone gets the CANCEL the gateway relays.
func TestSIPpBusyAndCancel(t *testing.T) {
	for _, tt := range []struct {
		agent, trunk string
		result       billing.Result
		code         int
	}{
		{"agent_busy.xml", "trunk_busy", billing.ResultBusy, 486},
		{"agent_cancelled.xml", "trunk_cancel", billing.ResultCancelled, 487},
	} {
		t.Run(tt.trunk, func(t *testing.T) {
			gw := startGateway(t, gatewayTeam, "")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			agent := startSIPp(ctx, t, gw, "agent", "127.0.0.1", "-oocsf", sipptest.Scenario(tt.agent))
			waitRegistered(ctx, t, gw, agent, "alice")
			trunk := startSIPp(ctx, t, gw, tt.trunk, "127.0.0.2")
			trunk.wait(t, gw)
			agent.wait(t, gw)
			if r := closedRecord(t, gw); r.Result != tt.result || r.SIPCode != tt.code {
				t.Errorf("record = %+v, want %s %d", r, tt.result, tt.code)
			}
		})
	}
}

// startSIPpAt runs SIPp's built-in answering scenario (uas) on ip:port:
// a carrier's far end that answers and takes the BYE.
func startSIPpAt(ctx context.Context, t *testing.T, ip string, port int) *sippRun {
	t.Helper()
	return runSIPp(ctx, t, "uas", "-sn", "uas", "-i", ip, "-p", strconv.Itoa(port))
}

func itoa(n int) string { return strconv.Itoa(n) }

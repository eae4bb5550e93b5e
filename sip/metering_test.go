package sip_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
)

// A call is metered from answer to the moment it ends for the caller
// (R-BILL-1), whatever the gateway still waits for afterwards. Here alice has
// a second phone that rings and then says nothing, not even to the CANCEL
// the gateway sends it once alice answers elsewhere: the gateway waits 64*T1
// (32 s) for its final response before it lets the call go. The record must
// still say the call lasted about a second, not 33 s. Slow by nature (the
// wait is RFC 3261 9.1's), so it is this one test.
func TestLosingForkSilentOnCancelIsNotBilled(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := newPhone(t, "127.0.0.1")
	if res := alice.register(gw, "alice", "alice-pw-1", 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	silent, cancels := silentPhone(t)
	ctx := context.Background()
	cs, err := gw.store.ListContacts(ctx, "alice", time.Now())
	if err != nil || len(cs) != 1 {
		t.Fatalf("alice's contacts: %v %v", cs, err)
	}
	if err := gw.store.PutContact(ctx, &directory.Contact{
		Username: "alice", URI: "sip:silent@" + silent, Source: "udp:" + silent, Node: cs[0].Node,
		CallID: "silent-reg", CSeq: 1, Expires: time.Now().Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}

	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	eventually(t, "the silent phone cancelled", func() bool { return cancels.Load() > 0 })
	time.Sleep(time.Second)
	hungUp := time.Now()
	hangup(t, sess)

	deadline := time.Now().Add(90 * time.Second)
	for lastRecord(t, gw).End.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the call record was never closed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := lastRecord(t, gw)
	if r.Result != billing.ResultAnswered || r.Answer.IsZero() {
		t.Fatalf("record = %+v", r)
	}
	if talk := r.End.Sub(r.Answer); talk > 5*time.Second || r.End.After(hungUp.Add(5*time.Second)) {
		t.Errorf("recorded %s of talk, ending %s after the caller hung up; the call lasted about a second",
			talk, r.End.Sub(hungUp))
	}
}

// silentPhone is a phone that answers an INVITE with 180 Ringing and then
// nothing more, CANCEL included. It returns its address and the count of
// CANCELs it ignored.
func silentPhone(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	var cancels atomic.Int32
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			switch {
			case strings.HasPrefix(msg, "CANCEL "):
				cancels.Add(1)
			case strings.HasPrefix(msg, "INVITE "):
				_, _ = pc.WriteTo([]byte(ringing(msg)), from)
			}
		}
	}()
	return pc.LocalAddr().String(), &cancels
}

// ringing is the 180 to an INVITE: its Via, From, Call-ID and CSeq, its To
// with a tag.
func ringing(invite string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 180 Ringing\r\n")
	for line := range strings.SplitSeq(invite, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "from", "call-id", "cseq":
			b.WriteString(line + "\r\n")
		case "to":
			b.WriteString(line + ";tag=silent" + strconv.Itoa(len(invite)) + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

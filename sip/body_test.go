package sip_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/media"
)

// mixedBody is a multipart/mixed body (RFC 5621) with the given parts.
func mixedBody(boundary string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p + "\r\n")
	}
	return b.String() + "--" + boundary + "--\r\n"
}

// isupPart is an ISUP IAM part as carriers send it next to the SDP (SIP-I).
const isupPart = "Content-Type: application/ISUP;version=itu-t92+\r\n" +
	"Content-Disposition: signal;handling=optional\r\n\r\n" +
	"\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03"

// An INVITE's body is read by its type: a multipart/mixed body with an SDP
// part makes a call like any other (audio both ways), a body of another
// type or a multipart without SDP gets 415 with Accept, and so does such a
// re-INVITE; a multipart re-INVITE puts the call on hold.
func TestInviteBodyTypes(t *testing.T) {
	gw := startGateway(t, gatewayTeam, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")

	for _, tc := range []struct{ name, ctype, body string }{
		{"text", "text/plain", "v=0\r\n"},
		{"multipart without SDP", "multipart/mixed;boundary=b1", mixedBody("b1", isupPart)},
	} {
		_, err := trunk.callWith(gw, "+15125550110", "+17375559999", nil, tc.ctype, tc.body)
		// The 415 says what the gateway reads (RFC 3261 21.4.13).
		var dr *sipgo.ErrDialogResponse
		if !errors.As(err, &dr) || dr.Res.StatusCode != 415 || header(dr.Res, "Accept") != "application/sdp" {
			t.Errorf("%s: %v, want 415 with Accept: application/sdp", tc.name, err)
		}
	}
	if n := alice.invites.Load(); n != 0 {
		t.Fatalf("refused INVITEs rang alice %d times", n)
	}

	sdp := "Content-Type: application/sdp\r\n\r\n" + trunk.rtp.sdp()
	sess, err := trunk.callWith(gw, "+15125550110", "+17375559999", nil,
		"multipart/mixed;boundary=unique-boundary-1", mixedBody("unique-boundary-1", sdp, isupPart))
	if err != nil {
		t.Fatalf("multipart call: %v", err)
	}
	trunk.rtp.send(t, 20)
	alice.rtp.send(t, 20)
	eventually(t, "RTP at both ends", func() bool {
		return alice.rtp.received.Load() >= 15 && trunk.rtp.received.Load() >= 15
	})
	// What reached alice is the gateway's own offer, not the multipart.
	alice.mu.Lock()
	inv := alice.dialogs[0].InviteRequest
	alice.mu.Unlock()
	if ct := inv.ContentType(); ct == nil || ct.Value() != "application/sdp" || strings.Contains(string(inv.Body()), "unique-boundary") {
		t.Errorf("alice got a %v body: %q", ct, inv.Body())
	}

	if res := inDialog(t, sess, "INVITE", "text/plain", "hold, please"); res.StatusCode != 415 || header(res, "Accept") != "application/sdp" {
		t.Errorf("re-INVITE with a text body: %d %s, want 415 with Accept", res.StatusCode, res.Reason)
	}
	hold := strings.Replace(trunk.rtp.sdp(), "a=sendrecv", "a=sendonly", 1)
	res := inDialog(t, sess, "INVITE", "multipart/mixed;boundary=b2",
		mixedBody("b2", "Content-Type: application/sdp\r\nContent-Disposition: session\r\n\r\n"+hold, isupPart))
	if res.StatusCode != 200 {
		t.Fatalf("multipart re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	alice.mu.Lock()
	holds := append([]media.Direction(nil), alice.holds...)
	alice.mu.Unlock()
	if len(holds) != 1 || holds[0] != media.Sendonly {
		t.Errorf("alice saw re-INVITEs %v, want one sendonly", holds)
	}
	hangup(t, sess)
	if r := closedRecord(t, gw); r.Result != billing.ResultAnswered || r.Username != "alice" {
		t.Errorf("record = %+v, want answered by alice", r)
	}
}

package sip_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// R-IN-6: the agent's phone shows the number the caller dialled or the
// caller's own number, as the account chose, with the lead's name.
func TestCallerIDShownToAgent(t *testing.T) {
	for _, tt := range []struct {
		mode, wantUser string
	}{
		{"dialed_number", "+15125550100"},
		{"lead_number", "+17375550001"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			team := strings.Replace(gatewayTeam, "settings:\n", "settings:\n  caller_id_mode: "+tt.mode+"\n", 1)
			gw := startGateway(t, team, "")
			bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
			trunk := newPhone(t, "127.0.0.2")
			if _, err := trunk.call(gw, "+15125550100", "+17375550001", nil); err != nil {
				t.Fatalf("call: %v", err)
			}
			bob.mu.Lock()
			d := bob.dialogs[0]
			bob.mu.Unlock()
			from := d.InviteRequest.From()
			if from.Address.User != tt.wantUser || from.DisplayName != "Known Lead" {
				t.Errorf("bob's phone shows %q <%s>, want \"Known Lead\" <%s>", from.DisplayName, from.Address.User, tt.wantUser)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = d.Bye(ctx)
			closedRecord(t, gw)
		})
	}
}

// Auto-assign (R-IN-4): the rotation's pick rings for the ring timeout;
// when it does not answer, the next agent of the rotation rings, and the
// lead follows the agent who answered.
func TestAutoAssignFallsBackToNextAgent(t *testing.T) {
	gw := routingGateway(t, true, `
rules:
  - {name: round, active: true, criteria: {source: [inbound call]}, agents: [{user: alice}, {user: bob}]}
`, "")
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	alice.answer.Store("ignore")
	bob := registered(t, gw, "bob", "bob-pw-22", "127.0.0.1")
	trunk := newPhone(t, "127.0.0.2")
	sess, err := trunk.call(gw, "+15125550100", "+17375550044", nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if alice.invites.Load() != 1 || alice.cancels.Load() != 1 || bob.invites.Load() != 1 {
		t.Errorf("alice got %d INVITEs and %d CANCELs, bob %d INVITEs; want alice rung and cancelled, then bob",
			alice.invites.Load(), alice.cancels.Load(), bob.invites.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sess.Bye(ctx)
	r := closedRecord(t, gw)
	lead := leadOf(t, gw, "+17375550044")
	if r.Username != "bob" || lead.Agents["buyer"] != "bob" {
		t.Errorf("answered by %q, lead's buyer agent %q; want bob for both", r.Username, lead.Agents["buyer"])
	}
	if !strings.Contains(r.Route, "if alice does not answer: bob") {
		t.Errorf("route %q", r.Route)
	}
}

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

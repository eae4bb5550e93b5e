package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

func TestPrimaryManagerHandOver(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		maria, _ := svc.GetUserByUsername(ctx, "maria")
		ken, _ := svc.GetUserByUsername(ctx, "ken")
		asKen := directory.WithActor(ctx, directory.Actor{UserID: ken.ID, Username: "ken", Role: directory.RoleManager})
		asMaria := directory.WithActor(ctx, directory.Actor{UserID: maria.ID, Username: "maria", Role: directory.RolePrimaryManager})

		// A manager cannot make himself primary manager.
		ken.Role = directory.RolePrimaryManager
		if _, err := svc.UpdateUser(asKen, ken); !errors.Is(err, directory.ErrForbidden) {
			t.Fatalf("manager appointing himself: %v, want forbidden", err)
		}
		// The primary manager cannot just step down.
		maria.Role = directory.RoleManager
		if _, err := svc.UpdateUser(asMaria, maria); !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("primary manager stepping down alone: %v, want conflict", err)
		}
		// She hands over: Ken is primary manager, she is a manager.
		if _, err := svc.UpdateUser(asMaria, ken); err != nil {
			t.Fatal(err)
		}
		if u, _ := svc.GetUserByUsername(ctx, "maria"); u.Role != directory.RoleManager {
			t.Fatalf("maria is %s after handing over", u.Role)
		}
		if u, _ := svc.GetUserByUsername(ctx, "ken"); u.Role != directory.RolePrimaryManager {
			t.Fatalf("ken is %s after hand-over", u.Role)
		}

		// The directory file can hand it back, whatever the order of users.
		back := strings.Replace(teamFile(), "role: primary_manager", "role: manager", 1)
		back = strings.Replace(back, "name: Ken Adams\n    role: manager", "name: Ken Adams\n    role: primary_manager", 1)
		mustApply(t, svc, back, false)
		if u, _ := svc.GetUserByUsername(ctx, "ken"); u.Role != directory.RolePrimaryManager {
			t.Fatalf("ken is %s after apply", u.Role)
		}
		if again := mustApply(t, svc, back, false); len(again) != 0 {
			t.Fatalf("second apply changed %v", again)
		}
		// Deleting the primary manager is refused.
		k, _ := svc.GetUserByUsername(ctx, "ken")
		if err := svc.DeleteUser(ctx, k.ID); !errors.Is(err, directory.ErrConflict) {
			t.Fatalf("deleting the primary manager: %v, want conflict", err)
		}
	})
}

func TestAgentAccess(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	bob, _ := svc.GetUserByUsername(ctx, "bob")
	asBob := directory.WithActor(ctx, directory.Actor{UserID: bob.ID, Username: "bob", Role: directory.RoleAgent})

	leads, err := svc.ListLeads(asBob, directory.LeadFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leads {
		if l.Agents["buyer"] != "bob" {
			t.Fatalf("bob sees lead %v assigned to %v", l.Phones, l.Agents)
		}
	}
	if len(leads) == 0 {
		t.Fatal("bob sees none of his leads")
	}
	if _, err := svc.CreateNumber(asBob, directory.Number{E164: "+15125550150", Kind: directory.KindRole, Role: "buyer"}); !errors.Is(err, directory.ErrForbidden) {
		t.Errorf("agent adding a number: %v", err)
	}
	st, _ := svc.GetSettings(ctx)
	st.RingTimeoutSeconds = 40
	if _, err := svc.UpdateSettings(asBob, st); !errors.Is(err, directory.ErrForbidden) {
		t.Errorf("agent changing settings: %v", err)
	}
	// An agent may add a lead for himself, not for someone else.
	if _, err := svc.CreateLead(asBob, directory.Lead{Phones: []string{"737 555 4242"}, Agents: map[string]string{"buyer": "alice"}}); !errors.Is(err, directory.ErrForbidden) {
		t.Errorf("agent assigning alice: %v", err)
	}
	if _, err := svc.CreateLead(asBob, directory.Lead{Phones: []string{"737 555 4242"}, Agents: map[string]string{"buyer": "bob"}}); err != nil {
		t.Errorf("agent adding his own lead: %v", err)
	}
	// Own profile yes, dialer only where the account allows it.
	bob.Name = "Bobby"
	bob.DialerAccess = false
	bob, err = svc.UpdateUser(asBob, bob)
	if err != nil {
		t.Fatalf("agent renaming himself: %v", err)
	}
	bob.DialerAccess = true
	if _, err := svc.UpdateUser(asBob, bob); !errors.Is(err, directory.ErrForbidden) {
		t.Fatalf("agent enabling his dialer: %v", err)
	}
	st.AgentsMayEnableDialer = true
	if _, err := svc.UpdateSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	if u, err := svc.UpdateUser(asBob, bob); err != nil || !u.DialerAccess {
		t.Fatalf("agent enabling his dialer where allowed: %v", err)
	}
	alice, _ := svc.GetUserByUsername(ctx, "alice")
	alice.Name = "Mallory"
	if _, err := svc.UpdateUser(asBob, alice); !errors.Is(err, directory.ErrForbidden) {
		t.Fatalf("agent renaming alice: %v", err)
	}
	// Another agent's lead does not exist for bob, even as a stale copy
	// (a "changed since" answer would tell him it does).
	aliceLeads, _ := svc.ListLeads(ctx, directory.LeadFilter{Agent: "alice"})
	stale := aliceLeads[0]
	stale.UpdatedAt = stale.UpdatedAt.Add(-time.Second)
	if _, err := svc.UpdateLead(asBob, stale); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("agent updating another agent's lead from a stale copy: %v, want not found", err)
	}
}

func TestStaleUpdatesAreRefused(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	// Two managers read Alice; the first renames her, the second, working
	// from the older copy, changes her email.
	first, _ := svc.GetUserByUsername(ctx, "alice")
	second := first
	first.Name = "Alice Cooper"
	if _, err := svc.UpdateUser(ctx, first); err != nil {
		t.Fatal(err)
	}
	second.Email = "alice@example.com"
	if _, err := svc.UpdateUser(ctx, second); !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), "changed since it was read") {
		t.Fatalf("stale update: %v, want a conflict", err)
	}
	if u, _ := svc.GetUserByUsername(ctx, "alice"); u.Name != "Alice Cooper" || u.Email != "" {
		t.Fatalf("alice = %q %q: the stale write won", u.Name, u.Email)
	}
	// The same holds for the account settings.
	st1, _ := svc.GetSettings(ctx)
	st2 := st1
	st1.RingTimeoutSeconds = 40
	if _, err := svc.UpdateSettings(ctx, st1); err != nil {
		t.Fatal(err)
	}
	st2.Voicemail = false
	if _, err := svc.UpdateSettings(ctx, st2); !errors.Is(err, directory.ErrConflict) {
		t.Fatalf("stale settings update: %v, want a conflict", err)
	}
	if st, _ := svc.GetSettings(ctx); st.RingTimeoutSeconds != 40 || !st.Voicemail {
		t.Fatalf("settings after the stale write: ring %d, voicemail %v", st.RingTimeoutSeconds, st.Voicemail)
	}
	// Without a read time (apply, CLI) the write goes through.
	second.UpdatedAt = time.Time{}
	if _, err := svc.UpdateUser(ctx, second); err != nil {
		t.Fatalf("update without a read time: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	// An agent added from the CLI before the first start: still no one who
	// can manage the account, so the first start makes the admin.
	if _, err := svc.CreateUser(ctx, directory.User{Username: "alice", Name: "Alice", Role: directory.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	secret, created, err := svc.Bootstrap(ctx)
	if err != nil || !created || secret == "" {
		t.Fatalf("Bootstrap = %q, %v, %v", secret, created, err)
	}
	actor, err := svc.Authenticate(ctx, secret)
	if err != nil || actor.Username != "admin" || actor.Role != directory.RolePrimaryManager {
		t.Fatalf("bootstrap token acts as %+v, %v", actor, err)
	}
	if _, created, err := svc.Bootstrap(ctx); created || err != nil {
		t.Fatalf("second Bootstrap: created %v, %v", created, err)
	}

	// "admin" taken by an agent and no primary manager: say what to do.
	other, _ := newService(t, storetest.Drivers()[0])
	if _, err := other.CreateUser(ctx, directory.User{Username: "admin", Name: "Not the boss", Role: directory.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	if _, created, err := other.Bootstrap(ctx); created || !strings.Contains(fmt.Sprint(err), "teamline user add --role primary_manager") {
		t.Fatalf("Bootstrap with admin taken: created %v, %v", created, err)
	}
}

func TestRemovingARoleInUse(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	base := teamFile()
	// Lead 00 gets a lender too.
	base = strings.Replace(base, "    agents: {buyer: alice}\n", "    agents: {buyer: alice, lender: ken}\n", 1)
	mustApply(t, svc, base, false)
	st, _ := svc.GetSettings(ctx)
	st.Roles = []string{"buyer", "seller"}
	if _, err := svc.UpdateSettings(ctx, st); !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), "used by number +15125550102") {
		t.Fatalf("removing a role a number uses: %v", err)
	}
	// Without the number, the lead's lender assignment still holds it.
	n, _ := svc.GetNumberByE164(ctx, "+15125550102")
	if err := svc.DeleteNumber(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateSettings(ctx, st); !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), `"lender" is assigned on lead`) {
		t.Fatalf("removing a role a lead assignment uses: %v", err)
	}
	// The file drops the role, its number and its assignment in one go.
	dropped := strings.Replace(base, "    agents: {buyer: alice, lender: ken}\n", "    agents: {buyer: alice}\n", 1)
	dropped = strings.Replace(dropped, "  - number: \"+1 512 555 0102\"\n    kind: role\n    role: lender\n", "", 1)
	dropped = strings.Replace(dropped, "settings:\n", "settings:\n  roles: [buyer, seller]\n", 1)
	dropped = strings.Replace(dropped, "    lenders: [{user: ken, leads_per_round: 1}]\n", "", 1)
	mustApply(t, svc, dropped, false)
	if st, _ := svc.GetSettings(ctx); strings.Join(st.Roles, ",") != "buyer,seller" {
		t.Fatalf("roles = %v", st.Roles)
	}
	if again := mustApply(t, svc, dropped, false); len(again) != 0 {
		t.Fatalf("second apply changed %v", again)
	}
}

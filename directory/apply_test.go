package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

func TestApplyCreatesThenIsIdempotent(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			svc, _ := newService(t, driver)

			dry := mustApply(t, svc, teamFile(), true)
			if out, _ := svc.Export(ctx); strings.Contains(string(out), "maria") {
				t.Fatal("dry run changed the directory")
			}
			plan := mustApply(t, svc, teamFile(), false)
			if len(dry) != len(plan) {
				t.Fatalf("dry run planned %d changes, apply made %d", len(dry), len(plan))
			}
			for _, want := range []struct {
				object string
				n      int
			}{{"user", 5}, {"number", 6}, {"lead", 50}, {"rule", 5}} {
				if got := count(plan, "create", want.object); got != want.n {
					t.Errorf("created %d %ss, want %d", got, want.object, want.n)
				}
			}
			if count(plan, "update", "settings") != 1 {
				t.Errorf("settings not updated: %v", plan)
			}

			again := mustApply(t, svc, teamFile(), false)
			if len(again) != 0 {
				t.Fatalf("second apply changed %v", again)
			}

			// What apply stored is what the file said, normalised.
			alice, err := svc.GetUserByUsername(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if alice.CellPhone != "+15125550181" || alice.DefaultNumber != "+15125550110" || !alice.DialerAccess || !alice.SIPEnabled {
				t.Errorf("alice = %+v", alice)
			}
			if want := directory.HA1("alice", "teamline", "alice-secret-1"); *alice.SIP != want {
				t.Errorf("alice's HA1 = %+v, want %+v", *alice.SIP, want)
			}
			n, err := svc.GetNumberByE164(ctx, "15125550101")
			if err != nil || n.Kind != directory.KindRole || n.Role != "seller" {
				t.Errorf("listing number = %+v, %v; want role seller", n, err)
			}
			rules, err := svc.ListRules(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, r := range rules {
				order = append(order, r.Name)
			}
			if got := strings.Join(order, "|"); got != "Austin buyers|Luxury|Zillow sellers|Night owls|Everyone else" {
				t.Errorf("rule order = %s", got)
			}
			st, _ := svc.GetSettings(ctx)
			if st.TimeZone != "America/Chicago" || st.DefaultNumber != "+15125550100" || st.RingTimeoutSeconds != 25 || st.TextsPerMonth != 2500 {
				t.Errorf("settings = %+v", st)
			}
			enabled, why := svc.TelephonyEnabled(ctx)
			if !enabled {
				t.Errorf("telephony disabled with a buyer number: %s", why)
			}
		})
	}
}

func TestApplyUpdatesAndDeletes(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {

		changed := teamFile()
		changed = strings.Replace(changed, "name: Bob Jones", "name: Robert Jones", 1)
		changed = strings.Replace(changed, "sip_password: carol-secret-333", "sip_password: carol-new-pass", 1)
		changed = strings.Replace(changed, "  - name: Zillow sellers\n    active: false\n    criteria: {source: [zillow], lead_type: [seller]}\n    agents: [{user: bob, leads_per_round: 1}]\n", "", 1)
		changed = strings.Replace(changed, "  - name: Luxury\n", "  - name: Luxury homes\n", 1)
		// Move "Night owls" to the top.
		night := "  - name: Night owls\n    active: true\n    criteria: {tag: [night]}\n    windows: [{start: \"21:00\", end: \"08:00\"}]\n    agents: [{user: carol, leads_per_round: 1}]\n"
		changed = strings.Replace(changed, night, "", 1)
		changed = strings.Replace(changed, "rules:\n", "rules:\n"+night, 1)
		// Drop the first lead, change the second.
		changed = strings.Replace(changed, "  - phones: [\"+1 737 555 0000\"]\n    name: Lead 00\n", "  - phones: [\"+1 737 555 1000\"]\n    name: Lead new\n", 1)
		changed = strings.Replace(changed, "name: Lead 01\n", "name: Lead one\n", 1)

		plan := mustApply(t, svc, changed, false)
		got := map[string]bool{}
		for _, c := range plan {
			got[c.String()] = true
		}
		for _, want := range []string{
			"~ user bob (name)", "~ user carol (sip_password)", "- rule Zillow sellers", "- rule Luxury",
			"+ rule Luxury homes", "~ rule Night owls (position)", "- lead +17375550000", "+ lead +17375551000",
			"~ lead +17375550001 (name)",
		} {
			if !got[want] {
				t.Errorf("plan lacks %q; plan:\n%v", want, plan)
			}
		}
		if again := mustApply(t, svc, changed, false); len(again) != 0 {
			t.Fatalf("second apply changed %v", again)
		}
		rules, _ := svc.ListRules(ctx)
		if rules[0].Name != "Night owls" || rules[0].Position != 1 || !rules[len(rules)-1].CatchAll {
			t.Errorf("rules after move: %+v", rules)
		}
	})
}

func TestExportRoundTripsAcrossBackends(t *testing.T) {
	ctx := context.Background()
	var exports []string
	drivers := storetest.Drivers()
	if len(drivers) == 1 {
		drivers = append(drivers, drivers[0]) // still proves determinism
	}
	for _, driver := range drivers {
		svc, _ := newService(t, driver)
		mustApply(t, svc, teamFile(), false)
		out, err := svc.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The export applied back changes nothing.
		if plan := mustApply(t, svc, string(out), false); len(plan) != 0 {
			t.Fatalf("%s: applying the export changed %v", driver, plan)
		}
		// And builds the same directory on a fresh database.
		fresh, _ := newService(t, driver)
		mustApply(t, fresh, string(out), false)
		out2, err := fresh.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(out2) != string(out) {
			t.Fatalf("%s: export of the re-applied export differs:\n%s\n---\n%s", driver, out, out2)
		}
		exports = append(exports, string(out))
	}
	if exports[0] != exports[1] {
		t.Fatalf("%s and %s export differently:\n%s\n---\n%s", drivers[0], drivers[1], exports[0], exports[1])
	}
	for _, want := range []string{"sip_ha1:", "md5:", "- number: \"+15125550199\"", "kind: catch_all", "catch_all: true"} {
		if !strings.Contains(exports[0], want) {
			t.Errorf("export lacks %q", want)
		}
	}
	if strings.Contains(exports[0], "alice-secret-1") || strings.Contains(exports[0], "sip_password") {
		t.Error("export carries a plain SIP password")
	}
}

func TestApplyRefusesBadDirectories(t *testing.T) {
	base := teamFile()
	cases := []struct {
		name, file, want string
	}{
		{"duplicate number", strings.Replace(base, `"+1 512 555 0111"`, `"(512) 555-0110"`, 1), "numbers[4]: number +15125550110 is also numbers[3]"},
		{"personal without owner", strings.Replace(base, "    kind: personal\n    owner: bob\n", "    kind: personal\n", 1), "owner: a personal number needs an owner"},
		{"rule without criteria", strings.Replace(base, "    criteria: {price_min: 1000000}\n", "", 1), "criteria: a rule needs at least one criterion"},
		{"rule without agents", strings.Replace(base, "    agents: [{user: carol, leads_per_round: 1}]\n  - name: Everyone else", "  - name: Everyone else", 1), "agents: a rule needs at least one agent"},
		{"second catch-all", strings.Replace(base, "  - name: Luxury\n    active: true\n", "  - name: Luxury\n    catch_all: true\n", 1), "catch-all rule must be the last rule"},
		{"unknown agent", strings.Replace(base, "agents: {buyer: carol}", "agents: {buyer: nobody}", 1), `agents.buyer: no user "nobody"`},
		{"user owning numbers dropped", strings.Replace(base, "  - username: bob\n    name: Bob Jones\n    role: agent\n    sip_password: bob-secret-22\n    dialer_access: true\n", "", 1), `user "bob" owns numbers +15125550111`},
		{"impossible phone", strings.Replace(base, `"+1 737 555 0007"`, `"+1 123"`, 1), "phones[0]"},
		{"unknown role", strings.Replace(base, "role: lender\n", "role: plumber\n", 1), `unknown role "plumber"`},
		{"bad window", strings.Replace(base, `end: "18:00"`, `end: "25:00"`, 1), "windows[0].end"},
		{"bad setting", strings.Replace(base, "time_zone: America/Chicago", "time_zone: Mars/Olympus", 1), "time_zone"},
	}
	for _, driver := range storetest.Drivers() {
		for _, c := range cases {
			t.Run(driver+"/"+c.name, func(t *testing.T) {
				ctx := context.Background()
				svc, _ := newService(t, driver)
				if c.name == "user owning numbers dropped" {
					mustApply(t, svc, base, false)
					// Drop bob but keep his number: refused, nothing changes.
				}
				before, _ := svc.Export(ctx)
				f, err := directory.ParseFile(strings.NewReader(c.file))
				if err != nil {
					t.Fatalf("ParseFile: %v", err)
				}
				_, err = svc.Apply(ctx, f, false)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Apply err = %v; want it to say %q", err, c.want)
				}
				if after, _ := svc.Export(ctx); string(after) != string(before) {
					t.Fatal("a failed apply changed the directory")
				}
			})
		}
	}
}

func TestParseFileErrorsNameTheLine(t *testing.T) {
	cases := []struct{ file, want string }{
		{"users:\n  - username: a\n    nmae: A\n", `line 3: unknown key "nmae"`},
		{"users:\n  - username: a\n   name: [\n", "line "},
		{"numbers: 7\n", "line 1"},
		{"peoples: []\n", `line 1: unknown section "peoples"`},
		{"settings:\n  ring_timeout: 20\n", `line 2: unknown key "ring_timeout"`},
		{"users: []\nusers: []\n", `section "users" appears twice`},
		{"- a\n- b\n", "must be a mapping"},
		{"users: []\nleads:\n# - phones: [...]\n", `line 2: section "leads" is empty: write "leads: []"`},
		{"users: []\n---\nusers: []\n", "one YAML document"},
	}
	for _, c := range cases {
		_, err := directory.ParseFile(strings.NewReader(c.file))
		var fe *directory.FileError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFile(%q) = %v; want a FileError containing %q", c.file, err, c.want)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add(teamFile())
	f.Add("users:\n  - username: a\n    name: A\n")
	f.Add("settings: {roles: [buyer]}\nrules: [{name: x, catch_all: true, agents: [{user: a}]}]\n")
	f.Add("leads: [{phones: [\"+15125550100\"], agents: {buyer: a}}]")
	f.Add("&a [*a, *a]")
	f.Fuzz(func(t *testing.T, s string) {
		file, err := directory.ParseFile(strings.NewReader(s))
		if err != nil {
			var fe *directory.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFile error %T %v is not a FileError", err, err)
			}
			return
		}
		_ = file.Has("users")
	})
}

func TestApplyManagesOnlyTheSectionsGiven(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	plan := mustApply(t, svc, "leads: []\n", false)
	if count(plan, "delete", "lead") != 50 || len(plan) != 50 {
		t.Fatalf("leads: [] planned %v", plan)
	}
	users, _ := svc.ListUsers(ctx, directory.Page{})
	rules, _ := svc.ListRules(ctx)
	if len(users) != 5 || len(rules) != 5 {
		t.Fatalf("other sections changed: %d users, %d rules", len(users), len(rules))
	}
	// Settings merge: keys not given keep their values.
	mustApply(t, svc, "settings:\n  ring_timeout_seconds: 45\n", false)
	st, _ := svc.GetSettings(ctx)
	if st.RingTimeoutSeconds != 45 || st.TimeZone != "America/Chicago" || !st.PressOneToClaim {
		t.Fatalf("settings after a partial file: %+v", st)
	}
}

func TestApplyKeepsCellVerification(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	alice, _ := svc.GetUserByUsername(ctx, "alice")
	alice.CellVerified = true // as the verification code flow would
	if _, err := svc.UpdateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	// The hand-written file does not mention cell_verified: nothing changes.
	if plan := mustApply(t, svc, teamFile(), false); len(plan) != 0 {
		t.Fatalf("apply changed %v", plan)
	}
	if u, _ := svc.GetUserByUsername(ctx, "alice"); !u.CellVerified {
		t.Fatal("apply un-verified alice's cell phone")
	}
	// A new cell phone in the file is unverified.
	mustApply(t, svc, strings.Replace(teamFile(), `cell_phone: "(512) 555-0181"`, `cell_phone: "(512) 555-0182"`, 1), false)
	if u, _ := svc.GetUserByUsername(ctx, "alice"); u.CellVerified || u.CellPhone != "+15125550182" {
		t.Fatalf("after a new cell phone: %q verified %v", u.CellPhone, u.CellVerified)
	}
}

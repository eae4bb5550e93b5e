package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

// Renaming a user whose default number is their own personal number keeps
// that default: the number is still theirs under the new name.
func TestRenameUserKeepsOwnPersonalDefault(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		alice, _ := svc.GetUserByUsername(ctx, "alice")
		alice.Username = "alicia"
		alice.SIPPassword = "alicia-secret-1"
		u, err := svc.UpdateUser(ctx, alice)
		if err != nil {
			t.Fatalf("renaming alice: %v", err)
		}
		if u.Username != "alicia" || u.DefaultNumber != "+15125550110" {
			t.Fatalf("after rename: %+v", u)
		}
		if n, _ := svc.GetNumberByE164(ctx, "+15125550110"); n.Owner != "alicia" {
			t.Fatalf("personal number owner = %q", n.Owner)
		}
	})
}

// An agent edits the leads assigned to them, but not who they are assigned
// to: taking over another agent's role or adding themselves is refused.
func TestAgentCannotChangeLeadAssignments(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		bob, _ := svc.GetUserByUsername(ctx, "bob")
		asBob := directory.WithActor(ctx, directory.Actor{UserID: bob.ID, Username: "bob", Role: directory.RoleAgent})
		l, err := svc.CreateLead(ctx, directory.Lead{Phones: []string{"737 555 4343"}, Agents: map[string]string{"buyer": "bob", "seller": "carol"}})
		if err != nil {
			t.Fatal(err)
		}
		take := l
		take.Agents = map[string]string{"buyer": "bob", "seller": "bob"}
		if _, err := svc.UpdateLead(asBob, take); !errors.Is(err, directory.ErrForbidden) {
			t.Errorf("agent taking over the seller role: %v, want forbidden", err)
		}
		add := l
		add.Agents = map[string]string{"buyer": "bob", "seller": "carol", "lender": "bob"}
		if _, err := svc.UpdateLead(asBob, add); !errors.Is(err, directory.ErrForbidden) {
			t.Errorf("agent adding himself as lender: %v, want forbidden", err)
		}
		if got, _ := svc.GetLead(ctx, l.ID); got.Agents["seller"] != "carol" || got.Agents["lender"] != "" {
			t.Fatalf("assignments changed by the agent: %v", got.Agents)
		}
		// Other fields he may change.
		l.Name = "Renamed by bob"
		if _, err := svc.UpdateLead(asBob, l); err != nil {
			t.Fatalf("agent editing his lead: %v", err)
		}
	})
}

// A rule made the catch-all through an update moves to the end: the
// catch-all is always last (R-RULE-2).
func TestRuleMadeCatchAllMovesLast(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		ca, _ := svc.ListRules(ctx)
		if err := svc.DeleteRule(ctx, ca[len(ca)-1].ID); err != nil {
			t.Fatal(err)
		}
		rules, _ := svc.ListRules(ctx)
		r := rules[0]
		r.CatchAll, r.Criteria, r.Windows = true, directory.Criteria{}, nil
		if _, err := svc.UpdateRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		rules, _ = svc.ListRules(ctx)
		last := rules[len(rules)-1]
		if !last.CatchAll || last.Position != len(rules) {
			var names []string
			for _, r := range rules {
				names = append(names, r.Name)
			}
			t.Fatalf("catch-all is not last: %s", strings.Join(names, "|"))
		}
	})
}

// A number whose kind or owner changes stops being the default outbound
// number of a user it no longer may be (R-NUM-6): it was alice's personal
// number and becomes bob's.
func TestNumberChangeClearsDefaultItNoLongerAllows(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			svc, _ := newService(t, driver)
			mustApply(t, svc, teamFile(), false)
			n, _ := svc.GetNumberByE164(ctx, "+15125550110")
			n.Owner = "bob"
			if _, err := svc.UpdateNumber(ctx, n); err != nil {
				t.Fatal(err)
			}
			if a, _ := svc.GetUserByUsername(ctx, "alice"); a.DefaultNumber != "" {
				t.Fatalf("alice's default is %s, bob's personal number", a.DefaultNumber)
			}
			// The directory file does the same in one go, and again is a no-op.
			file := strings.Replace(teamFile(), "    kind: personal\n    owner: alice\n", "    kind: personal\n    owner: bob\n", 1)
			file = strings.Replace(file, `default_number: "+1 512 555 0110"`, `default_number: "(512) 555-0100"`, 1)
			svc2, _ := newService(t, driver)
			mustApply(t, svc2, teamFile(), false)
			mustApply(t, svc2, file, false)
			if a, _ := svc2.GetUserByUsername(ctx, "alice"); a.DefaultNumber != "+15125550100" {
				t.Fatalf("alice's default after apply = %q", a.DefaultNumber)
			}
			if again := mustApply(t, svc2, file, false); len(again) != 0 {
				t.Fatalf("second apply changed %v", again)
			}
			// A personal number turned catch-all is nobody's default.
			n, _ = svc2.GetNumberByE164(ctx, "+15125550111")
			bob, _ := svc2.GetUserByUsername(ctx, "bob")
			bob.DefaultNumber = n.E164
			if _, err := svc2.UpdateUser(ctx, bob); err != nil {
				t.Fatal(err)
			}
			ca, _ := svc2.GetNumberByE164(ctx, "+15125550199")
			if err := svc2.DeleteNumber(ctx, ca.ID); err != nil {
				t.Fatal(err)
			}
			n.Kind, n.Owner = directory.KindCatchAll, ""
			if _, err := svc2.UpdateNumber(ctx, n); err != nil {
				t.Fatal(err)
			}
			if b, _ := svc2.GetUserByUsername(ctx, "bob"); b.DefaultNumber != "" {
				t.Fatalf("bob's default is the catch-all number %s", b.DefaultNumber)
			}
		})
	}
}

// The agent filter of the lead list is a username: it is matched the way
// usernames are stored (lowercase, trimmed).
func TestListLeadsAgentFilterIsNormalised(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	want, _ := svc.ListLeads(ctx, directory.LeadFilter{Agent: "alice"})
	got, err := svc.ListLeads(ctx, directory.LeadFilter{Agent: " Alice "})
	if err != nil || len(want) == 0 || len(got) != len(want) {
		t.Fatalf("agent filter \" Alice \": %d leads, %v; \"alice\": %d", len(got), err, len(want))
	}
}

// Inputs the rules refuse.
func TestRefusedRuleAndLeadInputs(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)

	rule := directory.Rule{Name: "Days", Criteria: directory.Criteria{Cities: []string{"Austin"}},
		Agents: []directory.RuleAgent{{User: "alice"}}}
	for _, day := range []string{"monkey", "sunshine", "tuesdays", "we"} {
		rule.Windows = []directory.Window{{Days: []string{day}, Start: "08:00", End: "09:00"}}
		var v *directory.ValidationError
		if _, err := svc.CreateRule(ctx, rule); !errors.As(err, &v) || !strings.Contains(err.Error(), "windows[0].days") {
			t.Errorf("window day %q: %v, want a windows[0].days error", day, err)
		}
	}
	for _, day := range []string{"Monday", "tue", "WEDNESDAY"} {
		rule.Name = "Days " + day
		rule.Windows = []directory.Window{{Days: []string{day}, Start: "08:00", End: "09:00"}}
		if _, err := svc.CreateRule(ctx, rule); err != nil {
			t.Errorf("window day %q: %v", day, err)
		}
	}

	// "listing" is the seller role: naming both is ambiguous, not a coin toss.
	_, err := svc.CreateLead(ctx, directory.Lead{Phones: []string{"737 555 4444"}, Agents: map[string]string{"seller": "alice", "listing": "bob"}})
	var v *directory.ValidationError
	if !errors.As(err, &v) || !strings.Contains(err.Error(), "agents") {
		t.Errorf("lead with seller and listing agents: %v, want an agents error", err)
	}
}

// Only the primary manager revokes the primary manager's tokens, as only
// they make them.
func TestManagerCannotRevokePrimaryManagerTokens(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, storetest.Drivers()[0])
	mustApply(t, svc, teamFile(), false)
	ken, _ := svc.GetUserByUsername(ctx, "ken")
	asKen := directory.WithActor(ctx, directory.Actor{UserID: ken.ID, Username: "ken", Role: directory.RoleManager})
	pm, _, err := svc.CreateToken(ctx, "maria", "maria's laptop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteToken(asKen, pm.ID); !errors.Is(err, directory.ErrForbidden) {
		t.Fatalf("manager revoking the primary manager's token: %v, want forbidden", err)
	}
	agent, _, err := svc.CreateToken(ctx, "bob", "bob's phone", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteToken(asKen, agent.ID); err != nil {
		t.Fatalf("manager revoking an agent's token: %v", err)
	}
}

// Swapping the catch-all number works whatever the order of the numbers in
// the file, and applying the file again changes nothing.
func TestApplySwapsCatchAllNumber(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		file := strings.Replace(teamFile(), "    kind: role\n    role: lender\n", "    kind: catch_all\n", 1)
		file = strings.Replace(file, "  - number: \"+1 512 555 0199\"\n    kind: catch_all\n", "  - number: \"+1 512 555 0199\"\n    kind: role\n    role: lender\n", 1)
		mustApply(t, svc, file, false)
		if n, _ := svc.GetNumberByE164(ctx, "+15125550102"); n.Kind != directory.KindCatchAll {
			t.Fatalf("+15125550102 is %s", n.Kind)
		}
		if again := mustApply(t, svc, file, false); len(again) != 0 {
			t.Fatalf("second apply changed %v", again)
		}
	})
}

// A file that drops a role together with the numbers of that role applies:
// the role is checked against the numbers the file leaves.
func TestApplyDropsRoleWithItsNumbers(t *testing.T) {
	withTeam(t, func(t *testing.T, ctx context.Context, svc *directory.Service) {
		file := strings.Replace(teamFile(), "settings:\n", "settings:\n  roles: [buyer, seller]\n", 1)
		file = strings.Replace(file, "  - number: \"+1 512 555 0102\"\n    kind: role\n    role: lender\n", "", 1)
		file = strings.Replace(file, "    lenders: [{user: ken, leads_per_round: 1}]\n", "", 1)
		mustApply(t, svc, file, false)
		if st, _ := svc.GetSettings(ctx); strings.Join(st.Roles, ",") != "buyer,seller" {
			t.Fatalf("roles = %v", st.Roles)
		}
		if again := mustApply(t, svc, file, false); len(again) != 0 {
			t.Fatalf("second apply changed %v", again)
		}
	})
}

// unavailableStore answers every user lookup inside a transaction with
// ErrUnavailable, as a database busy with another writer would.
type unavailableStore struct{ directory.Store }

type unavailableQueries struct{ directory.Queries }

func (s unavailableStore) InTx(ctx context.Context, fn func(q directory.Queries) error) error {
	return s.Store.InTx(ctx, func(q directory.Queries) error { return fn(unavailableQueries{q}) })
}

func (unavailableQueries) GetUserByUsername(context.Context, string) (directory.User, error) {
	return directory.User{}, directory.ErrUnavailable
}

// A database error while checking a rule's agents is that error (503 and
// retry), not a validation error on the agent (422).
func TestRuleAgentLookupErrorIsNotValidation(t *testing.T) {
	st := storetest.Open(t, storetest.Drivers()[0])
	phones, _ := directory.NewPhones("US")
	svc := directory.NewService(unavailableStore{st}, phones)
	_, err := svc.CreateRule(context.Background(), directory.Rule{Name: "R", Criteria: directory.Criteria{Cities: []string{"Austin"}},
		Agents: []directory.RuleAgent{{User: "alice"}}})
	var v *directory.ValidationError
	if !errors.Is(err, directory.ErrUnavailable) || errors.As(err, &v) {
		t.Fatalf("CreateRule with the database busy: %v, want ErrUnavailable", err)
	}
}

// An empty item ("- null", or "-" followed by a commented-out object) is
// an error naming its line, not dropped: dropped, "leads:\n  - # ..."
// would delete every lead, and later items' errors would name the wrong line.
func TestParseFileRefusesEmptyItems(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"leads:\n  - # phones: [\"+1 737 555 0001\"]\n", "line 2: leads[0] is empty"},
		{"users:\n  - null\n", "line 2: users[0] is empty"},
		{"rules:\n  - {name: a}\n  - ~\n", "line 3: rules[1] is empty"},
	} {
		_, err := directory.ParseFile(strings.NewReader(c.file))
		var fe *directory.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFile(%q) = %v; want a FileError containing %q", c.file, err, c.want)
		}
	}
}

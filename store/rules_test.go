package store_test

import (
	"fmt"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func fullRule() directory.Rule {
	return directory.Rule{
		Name:     "Austin buyers",
		Position: 3,
		Active:   true,
		Criteria: directory.Criteria{
			Sources:       []string{"zillow", "realtor"},
			Tags:          []string{"hot"},
			PriceMin:      ptr(int64(0)), // a zero bound is a criterion, unlike nil
			PriceMax:      ptr(int64(750000)),
			Cities:        []string{"Austin", "Round Rock"},
			Counties:      []string{"Travis"},
			Neighborhoods: []string{"Zilker"},
			PostalCodes:   []string{"78704", "78701"},
			LeadTypes:     []directory.LeadType{directory.LeadBuyer, directory.LeadBoth},
			Regions:       []string{"TX"},
			PropertyTypes: []string{"condo"},
			Sites:         []string{"example.com"},
		},
		Windows: []directory.Window{
			{Days: []string{"mon", "tue", "wed"}, Start: "08:00", End: "17:30"},
			{Start: "22:00", End: "06:00"},
			{Days: []string{"sun"}, Start: "00:00", End: "24:00"},
		},
		Distribution: directory.DistClaim,
		ClaimTimeout: 45,
		Agents:       []directory.RuleAgent{{User: "bob", LeadsPerRound: 2}, {User: "alice", LeadsPerRound: 1}},
		Lenders:      []directory.RuleAgent{{User: "carol", LeadsPerRound: 5}, {User: "alice", LeadsPerRound: 1}},
	}
}

func TestRuleRoundTrip(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for _, u := range []string{"alice", "bob", "carol"} {
			user(t, s, u)
		}
		r := fullRule()
		must(t, s.CreateRule(ctx, &r))
		if r.ID == 0 || r.CreatedAt.IsZero() {
			t.Fatalf("CreateRule set %+v", r)
		}
		same(t, "GetRule", get(s.GetRule(ctx, r.ID))(t), r)
		same(t, "GetRuleByName", get(s.GetRuleByName(ctx, r.Name))(t), r)

		up := directory.Rule{ID: r.ID, Name: "Everyone", Position: 9, CatchAll: true,
			Distribution: directory.DistAutoAssign, Agents: []directory.RuleAgent{{User: "carol", LeadsPerRound: 3}},
			CreatedAt: r.CreatedAt}
		must(t, s.UpdateRule(ctx, &up))
		same(t, "updated rule", get(s.GetRule(ctx, r.ID))(t), up)
		_, err := s.GetRuleByName(ctx, "Austin buyers")
		isErr(t, err, directory.ErrNotFound, "Austin buyers")

		must(t, s.DeleteRule(ctx, r.ID))
		isErr(t, s.DeleteRule(ctx, r.ID), directory.ErrNotFound)
		for _, table := range []string{"rule_criteria", "rule_windows", "rule_agents"} {
			var n int
			must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
			same(t, table+" left", n, 0)
		}
	})
}

func TestListRulesByPosition(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		var rules []directory.Rule
		for _, p := range []struct {
			name string
			pos  int
		}{{"c", 2}, {"a", 0}, {"b", 1}, {"b2", 1}} {
			r := directory.Rule{Name: p.name, Position: p.pos, Distribution: directory.DistInstantCall,
				Agents: []directory.RuleAgent{{User: "alice", LeadsPerRound: p.pos}}}
			must(t, s.CreateRule(ctx, &r))
			rules = append(rules, r)
		}
		same(t, "ListRules", get(s.ListRules(ctx))(t), []directory.Rule{rules[1], rules[2], rules[3], rules[0]})
	})
}

func TestRuleErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		alice := user(t, s, "alice")
		r := directory.Rule{Name: "R", Distribution: directory.DistClaim, Agents: []directory.RuleAgent{{User: "alice"}}}
		must(t, s.CreateRule(ctx, &r))
		dup := directory.Rule{Name: "R", Distribution: directory.DistClaim}
		isErr(t, s.CreateRule(ctx, &dup), directory.ErrConflict, `"R"`, "rule name")

		other := directory.Rule{Name: "O", Distribution: directory.DistClaim}
		must(t, s.CreateRule(ctx, &other))
		other.Name = "R"
		isErr(t, s.UpdateRule(ctx, &other), directory.ErrConflict, "rule name")

		ghost := directory.Rule{Name: "G", Agents: []directory.RuleAgent{{User: "ghost"}}}
		isErr(t, s.CreateRule(ctx, &ghost), directory.ErrNotFound, `"ghost"`)
		_, err := s.GetRuleByName(ctx, "G")
		isErr(t, err, directory.ErrNotFound) // not half created

		twice := directory.Rule{Name: "T", Agents: []directory.RuleAgent{{User: "alice"}, {User: "alice"}}}
		isErr(t, s.CreateRule(ctx, &twice), directory.ErrConflict, `"alice"`, "twice")

		// A user in a rule cannot be deleted; the message names the rule.
		isErr(t, s.DeleteUser(ctx, alice.ID), directory.ErrConflict, "rule", `"R"`)
		must(t, s.DeleteRule(ctx, r.ID))
		must(t, s.DeleteUser(ctx, alice.ID))

		missing := directory.Rule{ID: 999, Name: "M"}
		isErr(t, s.UpdateRule(ctx, &missing), directory.ErrNotFound, "999")
	})
}

// A rule may hold more values than one statement takes placeholders
// (SQLite: 32766), and any Go int in its integer fields; both backends keep
// it the same.
func TestRuleBigAndWide(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		r := directory.Rule{Name: "Everywhere", Position: 1 << 40, Active: true, Distribution: directory.DistClaim,
			ClaimTimeout: 1<<33 + 1, Agents: []directory.RuleAgent{{User: "alice", LeadsPerRound: 1<<35 + 1}}}
		for i := range 9000 { // 36,000 values
			r.Criteria.PostalCodes = append(r.Criteria.PostalCodes, fmt.Sprintf("%05d", i))
		}
		for i := range 7000 { // 35,000 values
			r.Windows = append(r.Windows, directory.Window{Days: []string{"mon"}, Start: fmt.Sprint(i), End: "24:00"})
		}
		must(t, s.CreateRule(ctx, &r))
		same(t, "big rule", get(s.GetRule(ctx, r.ID))(t), r)
		r.Criteria.PostalCodes = r.Criteria.PostalCodes[1:]
		must(t, s.UpdateRule(ctx, &r))
		same(t, "updated big rule", get(s.GetRule(ctx, r.ID))(t), r)

		l := directory.Lead{Name: "Tagged", Phones: []string{"+15550000001"}}
		for i := range 11000 { // 33,000 values
			l.Tags = append(l.Tags, fmt.Sprint(i))
		}
		must(t, s.CreateLead(ctx, &l))
		same(t, "lead tags", get(s.GetLead(ctx, l.ID))(t).Tags, l.Tags)
	})
}

package store_test

import (
	"fmt"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// The caller-to-lead lookup of every inbound call, and the other reads of
// leads, take two queries (the lead rows, their children) on MySQL, where
// each costs a network round trip.
func TestQueriesPerCall(t *testing.T) {
	// One connection, whose Questions counter counts every query.
	s := storetest.Open(t, store.DriverMySQL, store.WithMaxOpenConns(1))
	user(t, s, "alice")
	l := directory.Lead{Name: "x", Phones: []string{"+15550000001", "+15550000002"}, Tags: []string{"a", "b"}, Agents: map[string]string{"buyer": "alice"}}
	must(t, s.CreateLead(ctx, &l))
	questions := func() int {
		var name string
		var n int
		must(t, s.DB().QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Questions'").Scan(&name, &n))
		return n
	}
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"GetLeadByPhone", func() { get(s.GetLeadByPhone(ctx, "+15550000002"))(t) }},
		{"GetLead", func() { get(s.GetLead(ctx, l.ID))(t) }},
		{"ListLeads agent", func() { get(s.ListLeads(ctx, directory.LeadFilter{Agent: "alice"}))(t) }},
		{"ListLeads phone", func() { get(s.ListLeads(ctx, directory.LeadFilter{Phone: "+15550000001"}))(t) }},
	} {
		q0 := questions()
		tc.fn()
		if n := questions() - q0 - 1; n != 2 { // -1: SHOW STATUS itself
			t.Errorf("%s: %d queries, want 2", tc.name, n)
		}
	}

	// Writing a rule or a lead looks its users up in one query, however
	// many there are.
	var agents []directory.RuleAgent
	assigned := map[string]string{}
	for i := range 10 {
		name := fmt.Sprint("agent", i)
		user(t, s, name)
		agents = append(agents, directory.RuleAgent{User: name, LeadsPerRound: 1})
		assigned[fmt.Sprint("role", i)] = name
	}
	cost := func(fn func() error) int {
		q0 := questions()
		must(t, fn())
		return questions() - q0 - 1
	}
	for _, tc := range []struct {
		name      string
		one, many func() error
	}{
		{"CreateRule", func() error {
			return s.CreateRule(ctx, &directory.Rule{Name: "one", Agents: agents[:1], Lenders: agents[:1]})
		}, func() error {
			return s.CreateRule(ctx, &directory.Rule{Name: "many", Agents: agents, Lenders: agents})
		}},
		{"CreateLead", func() error {
			return s.CreateLead(ctx, &directory.Lead{Phones: []string{"+15550000101"}, Agents: map[string]string{"buyer": "agent0"}})
		}, func() error {
			return s.CreateLead(ctx, &directory.Lead{Phones: []string{"+15550000102"}, Agents: assigned})
		}},
	} {
		if one, many := cost(tc.one), cost(tc.many); one != many {
			t.Errorf("%s: %d queries with one user, %d with ten", tc.name, one, many)
		}
	}
}

package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/teamline/teamline/directory"
)

// TestDirectoryRoundTrip builds a team's directory through the API and reads
// it back page by page.
func TestDirectoryRoundTrip(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		created := map[string][]int64{}
		post := func(path string, body any) {
			t.Helper()
			var obj struct {
				ID int64 `json:"id"`
			}
			e.do(t, "POST", path, e.boss, body).want(t, http.StatusCreated, &obj)
			created[path] = append(created[path], obj.ID)
		}

		// 5 users: the primary manager exists; 4 more.
		for i, u := range []struct{ username, role string }{
			{"mia", "manager"}, {"alice", "agent"}, {"bob", "agent"}, {"carol", "agent"},
		} {
			post("/api/v1/users", map[string]any{
				"username": u.username, "name": fmt.Sprintf("User %d", i), "role": u.role,
				"cell_phone": fmt.Sprintf("+1512555%04d", 100+i),
			})
		}
		// 6 numbers.
		for _, n := range []map[string]any{
			{"number": "+12125550001", "kind": "role", "role": "buyer"},
			{"number": "+12125550002", "kind": "role", "role": "seller"},
			{"number": "+12125550003", "kind": "role", "role": "lender"},
			{"number": "+12125550004", "kind": "personal", "owner": "alice"},
			{"number": "+12125550005", "kind": "personal", "owner": "bob"},
			{"number": "+12125550006", "kind": "catch_all"},
		} {
			post("/api/v1/numbers", n)
		}
		// 50 leads.
		agents := []string{"alice", "bob", "carol"}
		for i := range 50 {
			post("/api/v1/leads", map[string]any{
				"phones": []string{fmt.Sprintf("+1312555%04d", i)}, "name": fmt.Sprintf("Lead %02d", i),
				"source": "web", "tags": []string{fmt.Sprintf("t%d", i%3)}, "type": "buyer",
				"agents": map[string]string{"buyer": agents[i%3]},
			})
		}
		// 4 rules and the catch-all.
		post("/api/v1/rules", map[string]any{"name": "catch-all", "catch_all": true, "agents": []map[string]any{{"user": "alice"}}})
		for i := range 4 {
			post("/api/v1/rules", map[string]any{
				"name": fmt.Sprintf("rule %d", i), "active": true,
				"criteria": map[string]any{"tag": []string{fmt.Sprintf("t%d", i)}},
				"agents":   []map[string]any{{"user": agents[i%3], "leads_per_round": i + 1}},
			})
		}

		ids := func(path string, limit int) []int64 {
			var out []int64
			for _, o := range listAll[struct {
				ID int64 `json:"id"`
			}](t, e, fmt.Sprintf("%s?limit=%d", path, limit), e.boss) {
				out = append(out, o.ID)
			}
			return out
		}
		if got, want := ids("/api/v1/users", 2), append([]int64{e.users["boss"]}, created["/api/v1/users"]...); !slices.Equal(got, want) {
			t.Fatalf("users %v, want %v", got, want)
		}
		if got := ids("/api/v1/numbers", 4); !slices.Equal(got, created["/api/v1/numbers"]) {
			t.Fatalf("numbers %v, want %v", got, created["/api/v1/numbers"])
		}
		if got := ids("/api/v1/leads", 7); !slices.Equal(got, created["/api/v1/leads"]) {
			t.Fatalf("leads %v, want %v", got, created["/api/v1/leads"])
		}
		if got := ids("/api/v1/leads", 50); !slices.Equal(got, created["/api/v1/leads"]) {
			t.Fatalf("leads in one page %v", got)
		}

		leads := listAll[directory.Lead](t, e, "/api/v1/leads?limit=500", e.boss)
		for i, l := range leads {
			if l.Name != fmt.Sprintf("Lead %02d", i) || l.Phones[0] != fmt.Sprintf("+1312555%04d", i) || l.Agents["buyer"] != agents[i%3] {
				t.Fatalf("lead %d read back as %+v", i, l)
			}
		}

		rules := listAll[directory.Rule](t, e, "/api/v1/rules?limit=2", e.boss)
		var names []string
		for i, r := range rules {
			names = append(names, r.Name)
			if r.Position != i+1 {
				t.Fatalf("rule %q at position %d, listed %d", r.Name, r.Position, i+1)
			}
		}
		if got := fmt.Sprint(names); got != "[rule 0 rule 1 rule 2 rule 3 catch-all]" {
			t.Fatalf("rules %s", got)
		}
		if !rules[4].CatchAll || rules[3].Agents[0].LeadsPerRound != 4 {
			t.Fatalf("rules read back as %+v", rules)
		}
	})
}

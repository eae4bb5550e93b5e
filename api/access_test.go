package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/teamline/teamline/directory"
)

// TestAccess checks R-ACC through the API: the service decides, the API
// carries the actor and maps the refusals.
func TestAccess(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		e.addUser("bob", directory.RoleAgent)
		mia := e.addUser("mia", directory.RoleManager)

		// Agents do not change the directory's structure or settings.
		e.do(t, "POST", "/api/v1/users", alice, map[string]any{"username": "eve", "name": "Eve", "role": "agent"}).
			wantProblem(t, http.StatusForbidden)
		e.do(t, "POST", "/api/v1/numbers", alice, map[string]any{"number": "+12125550001", "kind": "role", "role": "buyer"}).
			wantProblem(t, http.StatusForbidden)
		e.do(t, "POST", "/api/v1/rules", alice, map[string]any{
			"name": "mine", "criteria": map[string]any{"city": []string{"Austin"}}, "agents": []map[string]any{{"user": "alice"}},
		}).wantProblem(t, http.StatusForbidden)
		e.do(t, "PATCH", "/api/v1/settings", alice, map[string]any{"ring_timeout_seconds": 40}).wantProblem(t, http.StatusForbidden)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", e.users["bob"]), alice, nil).wantProblem(t, http.StatusForbidden)

		// Agents see only their own leads.
		for i, agent := range []string{"alice", "bob", "alice"} {
			e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{
				"phones": []string{fmt.Sprintf("+1312555%04d", i)}, "name": fmt.Sprintf("Lead %d", i),
				"agents": map[string]string{"buyer": agent},
			}).want(t, http.StatusCreated, nil)
		}
		mine := listAll[directory.Lead](t, e, "/api/v1/leads", alice)
		if len(mine) != 2 {
			t.Fatalf("alice sees %d leads", len(mine))
		}
		for _, l := range mine {
			if l.Agents["buyer"] != "alice" {
				t.Fatalf("alice sees %+v", l)
			}
		}
		// Asking for bob's leads does not widen the view.
		for _, l := range listAll[directory.Lead](t, e, "/api/v1/leads?agent=bob", alice) {
			if l.Agents["buyer"] != "alice" {
				t.Fatalf("alice sees bob's lead %+v", l)
			}
		}
		if n := len(listAll[directory.Lead](t, e, "/api/v1/leads", mia)); n != 3 {
			t.Fatalf("manager sees %d leads", n)
		}
		bobs := listAll[directory.Lead](t, e, "/api/v1/leads?agent=bob", e.boss)
		e.do(t, "GET", fmt.Sprintf("/api/v1/leads/%d", bobs[0].ID), alice, nil).wantProblem(t, http.StatusNotFound)
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/leads/%d", bobs[0].ID), alice, map[string]any{"name": "mine now"}).
			wantProblem(t, http.StatusNotFound)
		// An agent adds a lead for herself, not for others.
		e.do(t, "POST", "/api/v1/leads", alice, map[string]any{
			"phones": []string{"+13125559999"}, "agents": map[string]string{"buyer": "bob"},
		}).wantProblem(t, http.StatusForbidden)
		e.do(t, "POST", "/api/v1/leads", alice, map[string]any{
			"phones": []string{"+13125559999"}, "agents": map[string]string{"buyer": "alice"},
		}).want(t, http.StatusCreated, nil)

		// An agent changes her own name, not her role, not another user.
		var me directory.User
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["alice"]), alice, map[string]any{"name": "Alice Renamed"}).
			want(t, http.StatusOK, &me)
		if me.Name != "Alice Renamed" || me.Role != directory.RoleAgent {
			t.Fatalf("alice after PATCH %+v", me)
		}
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["alice"]), alice, map[string]any{"role": "manager"}).
			wantProblem(t, http.StatusForbidden)
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["bob"]), alice, map[string]any{"name": "Bobby"}).
			wantProblem(t, http.StatusForbidden)

		// Managers change settings; the primary manager alone sets the
		// branded caller name (R-ACC-1, R-OUT-4).
		e.do(t, "PATCH", "/api/v1/settings", mia, map[string]any{"ring_timeout_seconds": 40}).want(t, http.StatusOK, nil)
		e.do(t, "PATCH", "/api/v1/settings", mia, map[string]any{"caller_name": "MIA HOMES"}).wantProblem(t, http.StatusForbidden)
		var st directory.Settings
		e.do(t, "PATCH", "/api/v1/settings", e.boss, map[string]any{"caller_name": "BOSS HOMES"}).want(t, http.StatusOK, &st)
		if st.CallerName != "BOSS HOMES" || st.RingTimeoutSeconds != 40 {
			t.Fatalf("settings %+v", st)
		}
		// A manager's later change of other settings keeps the caller name.
		e.do(t, "PATCH", "/api/v1/settings", mia, map[string]any{"voicemail": false}).want(t, http.StatusOK, &st)
		if st.CallerName != "BOSS HOMES" || st.Voicemail {
			t.Fatalf("settings after manager PATCH %+v", st)
		}

		// Tokens: agents only for themselves.
		e.do(t, "POST", "/api/v1/tokens", alice, map[string]any{"user": "bob", "name": "x"}).wantProblem(t, http.StatusForbidden)
	})
}

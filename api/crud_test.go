package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/teamline/teamline/directory"
)

func TestUsersCRUD(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		var u directory.User
		r := e.do(t, "POST", "/api/v1/users", e.boss, map[string]any{
			"username": "alice", "name": "Alice Agent", "role": "agent",
			"email": "Alice@Example.com", "sip_password": "correct horse",
		}).want(t, http.StatusCreated, &u)
		if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/v1/users/%d", u.ID) {
			t.Fatalf("Location %q for id %d", loc, u.ID)
		}
		if u.Email != "alice@example.com" || !u.SIPEnabled || u.CreatedAt.IsZero() {
			t.Fatalf("created %+v", u)
		}
		if contains(r.body, "sip_password") || contains(r.body, "correct horse") {
			t.Fatalf("the SIP password came back: %s", r.body)
		}

		var got directory.User
		e.do(t, "GET", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, nil).want(t, http.StatusOK, &got)
		if got.Username != "alice" || got.Name != "Alice Agent" {
			t.Fatalf("got %+v", got)
		}

		// PATCH changes only the given fields; id and created_at in the
		// body are ignored.
		var patched directory.User
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, map[string]any{
			"name": "Alice A.", "id": 999, "created_at": "2001-01-01T00:00:00Z",
		}).want(t, http.StatusOK, &patched)
		if patched.ID != u.ID || patched.Name != "Alice A." || patched.Email != "alice@example.com" ||
			!patched.SIPEnabled || !patched.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("patched %+v, was %+v", patched, u)
		}
		// null clears a field.
		var cleared directory.User
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, `{"email": null}`).want(t, http.StatusOK, &cleared)
		if cleared.Email != "" || cleared.Name != "Alice A." {
			t.Fatalf("after email null: %+v", cleared)
		}

		var me directory.User
		e.do(t, "GET", "/api/v1/users/me", e.boss, nil).want(t, http.StatusOK, &me)
		if me.Username != "boss" || me.Role != directory.RolePrimaryManager {
			t.Fatalf("me %+v", me)
		}

		users := listAll[directory.User](t, e, "/api/v1/users", e.boss)
		if len(users) != 2 {
			t.Fatalf("%d users", len(users))
		}

		e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		e.do(t, "GET", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, nil).wantProblem(t, http.StatusNotFound)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, nil).wantProblem(t, http.StatusNotFound)
	})
}

func TestNumbersCRUD(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		var n directory.Number
		r := e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{
			"number": "(212) 555-0101", "kind": "role", "role": "listing", "label": "Listings",
		}).want(t, http.StatusCreated, &n)
		if n.E164 != "+12125550101" || n.Role != "seller" || r.header.Get("Location") != fmt.Sprintf("/api/v1/numbers/%d", n.ID) {
			t.Fatalf("created %+v, Location %q", n, r.header.Get("Location"))
		}
		var p directory.Number
		e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{
			"number": "+1 212 555 0102", "kind": "personal", "owner": "alice",
		}).want(t, http.StatusCreated, &p)

		var got directory.Number
		e.do(t, "GET", fmt.Sprintf("/api/v1/numbers/%d", n.ID), e.boss, nil).want(t, http.StatusOK, &got)
		if got != n {
			t.Fatalf("got %+v, want %+v", got, n)
		}
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/numbers/%d", n.ID), e.boss, map[string]any{"label": "Sellers"}).
			want(t, http.StatusOK, &got)
		if got.Label != "Sellers" || got.Role != "seller" || got.E164 != n.E164 {
			t.Fatalf("patched %+v", got)
		}

		for _, c := range []struct {
			query string
			want  int64
		}{{"?kind=personal", p.ID}, {"?kind=role&role=seller", n.ID}, {"?owner=alice", p.ID}} {
			ns := listAll[directory.Number](t, e, "/api/v1/numbers"+c.query, e.boss)
			if len(ns) != 1 || ns[0].ID != c.want {
				t.Fatalf("%s: %+v", c.query, ns)
			}
		}

		e.do(t, "DELETE", fmt.Sprintf("/api/v1/numbers/%d", n.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		e.do(t, "GET", fmt.Sprintf("/api/v1/numbers/%d", n.ID), e.boss, nil).wantProblem(t, http.StatusNotFound)
	})
}

func TestLeadsCRUD(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		e.addUser("bob", directory.RoleAgent)
		var l directory.Lead
		r := e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{
			"phones": []string{"212-555-0199"}, "name": "Pat Lead", "source": "zillow", "tags": []string{"hot", "cash"},
			"type": "buyer", "price_min": 300000, "price_max": 450000, "city": "Austin",
			"agents": map[string]string{"buyer": "alice", "lender": "bob"},
		}).want(t, http.StatusCreated, &l)
		if l.Phones[0] != "+12125550199" || l.Agents["buyer"] != "alice" || r.header.Get("Location") != fmt.Sprintf("/api/v1/leads/%d", l.ID) {
			t.Fatalf("created %+v", l)
		}

		// A given map replaces the stored one: the lender assignment goes.
		var got directory.Lead
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/leads/%d", l.ID), e.boss, map[string]any{
			"agents": map[string]string{"seller": "bob"}, "city": "Dallas",
		}).want(t, http.StatusOK, &got)
		if len(got.Agents) != 1 || got.Agents["seller"] != "bob" || got.City != "Dallas" || got.Name != "Pat Lead" || len(got.Tags) != 2 {
			t.Fatalf("patched %+v", got)
		}

		for _, c := range []struct {
			query string
			n     int
		}{{"?phone=%2B12125550199", 1}, {"?phone=(212)%20555-0199", 1}, {"?agent=bob", 1}, {"?agent=alice", 0}, {"?q=Pat", 1}, {"?q=nobody", 0}} {
			ls := listAll[directory.Lead](t, e, "/api/v1/leads"+c.query, e.boss)
			if len(ls) != c.n {
				t.Fatalf("%s: %d leads, want %d", c.query, len(ls), c.n)
			}
		}
		e.do(t, "GET", fmt.Sprintf("/api/v1/leads/%d", l.ID), e.boss, nil).want(t, http.StatusOK, &got)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/leads/%d", l.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		e.do(t, "GET", fmt.Sprintf("/api/v1/leads/%d", l.ID), e.boss, nil).wantProblem(t, http.StatusNotFound)
	})
}

func TestRulesCRUD(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		e.addUser("bob", directory.RoleAgent)
		var all directory.Rule
		e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{
			"name": "everyone", "catch_all": true, "agents": []map[string]any{{"user": "alice"}},
		}).want(t, http.StatusCreated, &all)
		var a, b directory.Rule
		e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{
			"name": "austin", "active": true, "criteria": map[string]any{"city": []string{"Austin"}},
			"agents": []map[string]any{{"user": "alice", "leads_per_round": 2}, {"user": "bob", "leads_per_round": 1}},
		}).want(t, http.StatusCreated, &a)
		r := e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{
			"name": "luxury", "active": true, "criteria": map[string]any{"price_min": 1000000},
			"windows":      []map[string]any{{"days": []string{"sat", "sun"}, "start": "09:00", "end": "17:00"}},
			"distribution": "claim", "agents": []map[string]any{{"user": "bob"}},
		}).want(t, http.StatusCreated, &b)
		if r.header.Get("Location") != fmt.Sprintf("/api/v1/rules/%d", b.ID) || b.ClaimTimeout == 0 {
			t.Fatalf("created %+v", b)
		}
		names := func() []string {
			var out []string
			for _, r := range listAll[directory.Rule](t, e, "/api/v1/rules", e.boss) {
				out = append(out, r.Name)
			}
			return out
		}
		if got := fmt.Sprint(names()); got != "[austin luxury everyone]" {
			t.Fatalf("order %s", got)
		}
		// Moving a rule: position 1.
		var moved directory.Rule
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/rules/%d", b.ID), e.boss, map[string]any{"position": 1}).want(t, http.StatusOK, &moved)
		if got := fmt.Sprint(names()); got != "[luxury austin everyone]" {
			t.Fatalf("order after move %s", got)
		}
		// Criteria given replace the stored criteria whole.
		var retagged directory.Rule
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/rules/%d", a.ID), e.boss, map[string]any{
			"criteria": map[string]any{"tag": []string{"vip"}},
		}).want(t, http.StatusOK, &retagged)
		if len(retagged.Criteria.Cities) != 0 || len(retagged.Criteria.Tags) != 1 || len(retagged.Agents) != 2 {
			t.Fatalf("patched criteria %+v", retagged)
		}
		var got directory.Rule
		e.do(t, "GET", fmt.Sprintf("/api/v1/rules/%d", a.ID), e.boss, nil).want(t, http.StatusOK, &got)
		if got.Name != "austin" {
			t.Fatalf("got %+v", got)
		}
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/rules/%d", a.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		if got := fmt.Sprint(names()); got != "[luxury everyone]" {
			t.Fatalf("order after delete %s", got)
		}
	})
}

func TestSettings(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		var st directory.Settings
		e.do(t, "GET", "/api/v1/settings", e.boss, nil).want(t, http.StatusOK, &st)
		if st.RingTimeoutSeconds != 30 || len(st.Roles) != 3 {
			t.Fatalf("defaults %+v", st)
		}
		var got directory.Settings
		e.do(t, "PATCH", "/api/v1/settings", e.boss, map[string]any{
			"ring_timeout_seconds": 45, "roles": []string{"buyer", "seller", "lender", "rental"}, "caller_name": "ACME Realty",
		}).want(t, http.StatusOK, &got)
		if got.RingTimeoutSeconds != 45 || len(got.Roles) != 4 || got.CallerName != "ACME Realty" || got.TimeZone != st.TimeZone {
			t.Fatalf("patched %+v", got)
		}
		e.do(t, "GET", "/api/v1/settings", e.boss, nil).want(t, http.StatusOK, &got)
		if got.RingTimeoutSeconds != 45 {
			t.Fatalf("not stored: %+v", got)
		}
		e.do(t, "PATCH", "/api/v1/settings", e.boss, map[string]any{"ring_timeout_seconds": 1}).
			wantProblem(t, http.StatusUnprocessableEntity, "ring_timeout_seconds")
	})
}

func TestTokens(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		alice := e.addUser("alice", directory.RoleAgent)
		var tok struct {
			directory.Token
			Secret string `json:"token"`
		}
		r := e.do(t, "POST", "/api/v1/tokens", e.boss, map[string]any{"user": "alice", "name": "ci", "expires_in": "720h"}).
			want(t, http.StatusCreated, &tok)
		if tok.Secret == "" || tok.User != "alice" || tok.ExpiresAt == nil || r.header.Get("Location") != fmt.Sprintf("/api/v1/tokens/%d", tok.ID) {
			t.Fatalf("created %s", r.body)
		}
		var me directory.User
		e.do(t, "GET", "/api/v1/users/me", tok.Secret, nil).want(t, http.StatusOK, &me)
		if me.Username != "alice" {
			t.Fatalf("token acts as %q", me.Username)
		}
		var one directory.Token
		e.do(t, "GET", r.header.Get("Location"), e.boss, nil).want(t, http.StatusOK, &one)
		if one.ID != tok.ID || one.Name != "ci" {
			t.Fatalf("token %+v", one)
		}
		if contains(e.do(t, "GET", "/api/v1/tokens", e.boss, nil).body, tok.Secret) {
			t.Fatal("the list shows a secret")
		}
		// Managers see every token (boss, alice's two), the agent her own.
		if ts := listAll[directory.Token](t, e, "/api/v1/tokens?limit=1", e.boss); len(ts) != 3 {
			t.Fatalf("manager sees %d tokens", len(ts))
		}
		if ts := listAll[directory.Token](t, e, "/api/v1/tokens", alice); len(ts) != 2 {
			t.Fatalf("agent sees %d tokens", len(ts))
		}
		// Without "user" the token is the caller's own.
		var own struct {
			directory.Token
			Secret string `json:"token"`
		}
		e.do(t, "POST", "/api/v1/tokens", alice, map[string]any{"name": "laptop"}).want(t, http.StatusCreated, &own)
		if own.User != "alice" || own.ExpiresAt != nil {
			t.Fatalf("own token %+v", own)
		}
		e.do(t, "POST", "/api/v1/tokens", e.boss, map[string]any{"name": "x", "expires_in": "soon"}).
			wantProblem(t, http.StatusUnprocessableEntity, "expires_in")
		e.do(t, "POST", "/api/v1/tokens", e.boss, map[string]any{"user": "nobody", "name": "x"}).
			wantProblem(t, http.StatusUnprocessableEntity, "user")

		e.do(t, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		e.do(t, "GET", "/api/v1/users/me", tok.Secret, nil).wantProblem(t, http.StatusUnauthorized)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), e.boss, nil).wantProblem(t, http.StatusNotFound)
	})
}

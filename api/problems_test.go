package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
)

func TestProblems(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)

		t.Run("malformed JSON", func(t *testing.T) {
			p := e.do(t, "POST", "/api/v1/users", e.boss, `{"username": "x", "name": }`).wantProblem(t, http.StatusBadRequest)
			if !strings.Contains(p.Detail, "byte 27") || !strings.HasSuffix(p.Type, "/malformed-json") {
				t.Fatalf("problem %+v", p)
			}
			e.do(t, "POST", "/api/v1/users", e.boss, `{"username": "x"`).wantProblem(t, http.StatusBadRequest)
			e.do(t, "POST", "/api/v1/users", e.boss, `{"username": "x"} {}`).wantProblem(t, http.StatusBadRequest)
			e.do(t, "POST", "/api/v1/users", e.boss, `["x"]`).wantProblem(t, http.StatusBadRequest)
			e.do(t, "POST", "/api/v1/users", e.boss, `null`).wantProblem(t, http.StatusBadRequest)
			e.do(t, "POST", "/api/v1/users", e.boss, ``).wantProblem(t, http.StatusBadRequest)
			e.do(t, "POST", "/api/v1/users", e.boss, `{"username": 7}`).wantProblem(t, http.StatusBadRequest, "username")
			e.do(t, "POST", "/api/v1/leads", e.boss, `{"phones": "+13125550000"}`).wantProblem(t, http.StatusBadRequest, "phones")
			e.do(t, "POST", "/api/v1/leads", e.boss, `{"created_at": "yesterday", "phones": ["+13125550000"]}`).
				wantProblem(t, http.StatusBadRequest)
			e.do(t, "PATCH", "/api/v1/settings", e.boss, `{"ring_timeout_seconds": 1e99}`).
				wantProblem(t, http.StatusBadRequest, "ring_timeout_seconds")
		})
		t.Run("unknown field", func(t *testing.T) {
			p := e.do(t, "POST", "/api/v1/users", e.boss, map[string]any{"username": "x", "name": "X", "role": "agent", "superuser": true}).
				wantProblem(t, http.StatusBadRequest, "superuser")
			if !strings.HasSuffix(p.Type, "/unknown-field") {
				t.Fatalf("type %q", p.Type)
			}
			e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["alice"]), e.boss, map[string]any{"nmae": "typo"}).
				wantProblem(t, http.StatusBadRequest, "nmae")
			e.do(t, "PATCH", "/api/v1/settings", e.boss, map[string]any{"colour": "red"}).wantProblem(t, http.StatusBadRequest, "colour")
			// The stored credential is not an API field.
			e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["alice"]), e.boss, `{"sip_ha1": {"md5": "x"}}`).
				wantProblem(t, http.StatusBadRequest, "sip_ha1")
		})
		t.Run("body too large", func(t *testing.T) {
			big := `{"name": "` + strings.Repeat("x", 2<<20) + `"}`
			e.do(t, "POST", "/api/v1/leads", e.boss, big).wantProblem(t, http.StatusRequestEntityTooLarge)
			e.do(t, "PATCH", "/api/v1/settings", e.boss, big).wantProblem(t, http.StatusRequestEntityTooLarge)
		})
		t.Run("unsupported media type", func(t *testing.T) {
			for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded", "application/json-not"} {
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/leads", strings.NewReader(`{"phones": ["+13125550000"]}`))
				req.Header.Set("Authorization", "Bearer "+e.boss)
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				e.send(t, req).wantProblem(t, http.StatusUnsupportedMediaType)
			}
			req, _ := http.NewRequest("PATCH", e.srv.URL+"/api/v1/settings", strings.NewReader(`{"voicemail": false}`))
			req.Header.Set("Authorization", "Bearer "+e.boss)
			req.Header.Set("Content-Type", "application/merge-patch+json")
			e.send(t, req).want(t, http.StatusOK, nil)
			req, _ = http.NewRequest("PATCH", e.srv.URL+"/api/v1/settings", strings.NewReader(`{"voicemail": false}`))
			req.Header.Set("Authorization", "Bearer "+e.boss)
			req.Header.Set("Content-Type", "text/plain")
			r := e.send(t, req)
			r.wantProblem(t, http.StatusUnsupportedMediaType)
			if r.header.Get("Accept-Patch") == "" {
				t.Fatal("415 on PATCH without Accept-Patch")
			}
		})
		t.Run("unauthenticated", func(t *testing.T) {
			for _, auth := range []string{"", "Bearer", "Bearer tl_nope", "Basic Ym9zczpib3Nz", e.boss} {
				req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/users", nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				r := e.send(t, req)
				r.wantProblem(t, http.StatusUnauthorized)
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			}
			// A token in the query is not a credential.
			e.do(t, "GET", "/api/v1/users?access_token="+e.boss, "", nil).wantProblem(t, http.StatusUnauthorized)
			// The scheme is case-insensitive.
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/users", nil)
			req.Header.Set("Authorization", "bearer "+e.boss)
			e.send(t, req).want(t, http.StatusOK, nil)
		})
		t.Run("conflicts and validation", func(t *testing.T) {
			e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{"number": "+12125550101", "kind": "role", "role": "buyer"}).
				want(t, http.StatusCreated, nil)
			e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{"number": "(212) 555-0101", "kind": "role", "role": "seller"}).
				wantProblem(t, http.StatusConflict, "number")
			p := e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{"number": "+12125550102", "kind": "personal"}).
				wantProblem(t, http.StatusUnprocessableEntity, "owner")
			if !strings.HasSuffix(p.Type, "/validation") {
				t.Fatalf("type %q", p.Type)
			}
			e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{"number": "12", "kind": "role", "role": "buyer"}).
				wantProblem(t, http.StatusUnprocessableEntity, "number")

			e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{"name": "r", "agents": []map[string]any{{"user": "alice"}}}).
				wantProblem(t, http.StatusUnprocessableEntity, "criteria")
			e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{"name": "r", "criteria": map[string]any{"city": []string{"Austin"}}}).
				wantProblem(t, http.StatusUnprocessableEntity, "agents")
			e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{"name": "all", "catch_all": true, "agents": []map[string]any{{"user": "alice"}}}).
				want(t, http.StatusCreated, nil)
			r := e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{"name": "all 2", "catch_all": true, "agents": []map[string]any{{"user": "alice"}}})
			if r.status != http.StatusConflict && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("second catch-all: %d %s", r.status, r.body)
			}
			r.wantProblem(t, r.status, "catch_all")

			var n directory.Number
			e.do(t, "POST", "/api/v1/numbers", e.boss, map[string]any{"number": "+12125550103", "kind": "personal", "owner": "alice"}).
				want(t, http.StatusCreated, &n)
			p = e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", e.users["alice"]), e.boss, nil).wantProblem(t, http.StatusConflict)
			if !strings.Contains(p.Detail, "+12125550103") {
				t.Fatalf("detail %q does not say which number", p.Detail)
			}
			// The primary manager cannot be deleted.
			e.do(t, "DELETE", fmt.Sprintf("/api/v1/users/%d", e.users["boss"]), e.boss, nil).wantProblem(t, http.StatusConflict)
		})
		t.Run("bad paths and parameters", func(t *testing.T) {
			for _, path := range []string{"/api/v1/users/abc", "/api/v1/users/0", "/api/v1/users/-1", "/api/v1/leads/99999999999999999999"} {
				e.do(t, "GET", path, e.boss, nil).wantProblem(t, http.StatusBadRequest, "id")
			}
			e.do(t, "GET", "/api/v1/leads/4242", e.boss, nil).wantProblem(t, http.StatusNotFound)
			for _, q := range []string{"limit=0", "limit=501", "limit=abc", "limit=-5"} {
				e.do(t, "GET", "/api/v1/leads?"+q, e.boss, nil).wantProblem(t, http.StatusBadRequest, "limit")
			}
			e.do(t, "GET", "/api/v1/leads?limit=500", e.boss, nil).want(t, http.StatusOK, nil)
			e.do(t, "GET", "/api/v1/rules?after=!!", e.boss, nil).wantProblem(t, http.StatusBadRequest, "after")
			e.do(t, "GET", "/api/v1/users?after=bm90LWEtbnVtYmVy", e.boss, nil).wantProblem(t, http.StatusBadRequest, "after")
			e.do(t, "GET", "/api/v1/leads?phone=not-a-phone", e.boss, nil).wantProblem(t, http.StatusUnprocessableEntity, "phone")
		})
		t.Run("routing", func(t *testing.T) {
			r := e.do(t, "PUT", "/api/v1/users/1", e.boss, `{}`)
			r.wantProblem(t, http.StatusMethodNotAllowed)
			if allow := r.header.Get("Allow"); !strings.Contains(allow, "PATCH") {
				t.Fatalf("Allow %q", allow)
			}
			e.do(t, "GET", "/api/v1/nothing", e.boss, nil).wantProblem(t, http.StatusNotFound)
			e.do(t, "POST", "/healthz", "", nil).wantProblem(t, http.StatusMethodNotAllowed)
		})
	})
}

package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/teamline/teamline/directory"
)

// nasty are strings that break naively built SQL or LIKE patterns.
var nasty = []string{
	`'; DROP TABLE users; --`,
	`100% sure`,
	`under_score`,
	`back\slash \\ \' \"`,
	`"double" and 'single' quotes`,
	`Robert'); DELETE FROM leads WHERE ('1'='1`,
	`%_\%\_`,
}

// TestSQLMetacharacters round-trips SQL and LIKE metacharacters through
// every string field of a lead and a user, and searches for them.
func TestSQLMetacharacters(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		// A plain lead that a wildcard search must not find.
		e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{"phones": []string{"+13125550999"}, "name": "Plain Lead"}).
			want(t, http.StatusCreated, nil)
		for i, s := range nasty {
			in := directory.Lead{
				Phones: []string{fmt.Sprintf("+1312555%04d", i)}, Name: s, Email: s + "@example.com", Source: s,
				Tags: []string{s, s + " 2"}, Type: directory.LeadBoth, City: s, County: s, Neighborhood: s,
				PostalCode: s[:min(len(s), 20)], PropertyType: s, Site: s, Region: s,
			}
			var out directory.Lead
			e.do(t, "POST", "/api/v1/leads", e.boss, in).want(t, http.StatusCreated, &out)
			var got directory.Lead
			e.do(t, "GET", fmt.Sprintf("/api/v1/leads/%d", out.ID), e.boss, nil).want(t, http.StatusOK, &got)
			in.ID, in.CreatedAt, in.UpdatedAt = got.ID, got.CreatedAt, got.UpdatedAt
			if !reflect.DeepEqual(got, in) {
				t.Fatalf("lead %q read back as\n%+v\nwant\n%+v", s, got, in)
			}
			found := listAll[directory.Lead](t, e, "/api/v1/leads?q="+url.QueryEscape(s), e.boss)
			if len(found) != 1 || found[0].ID != out.ID {
				t.Fatalf("search for %q found %d leads: %+v", s, len(found), found)
			}

			username := fmt.Sprintf("o_brien.%d", i)
			var u directory.User
			e.do(t, "POST", "/api/v1/users", e.boss, map[string]any{
				"username": username, "name": s, "email": fmt.Sprintf("x%d@example.com", i), "role": "agent",
			}).want(t, http.StatusCreated, &u)
			var gotU directory.User
			e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, map[string]any{"name": s + "!", "sip_password": s + s}).
				want(t, http.StatusOK, &gotU)
			e.do(t, "GET", fmt.Sprintf("/api/v1/users/%d", u.ID), e.boss, nil).want(t, http.StatusOK, &gotU)
			if gotU.Name != s+"!" || gotU.Username != username || !gotU.SIPEnabled {
				t.Fatalf("user %q read back as %+v", s, gotU)
			}
		}
		// LIKE wildcards in a search match themselves only.
		for _, q := range []string{"%", "_", `\`, "'"} {
			for _, l := range listAll[directory.Lead](t, e, "/api/v1/leads?q="+url.QueryEscape(q), e.boss) {
				if l.Name == "Plain Lead" {
					t.Fatalf("search for %q finds %q", q, l.Name)
				}
			}
		}
		// Filters carry metacharacters safely too.
		e.do(t, "GET", "/api/v1/leads?agent="+url.QueryEscape(nasty[0]), e.boss, nil).want(t, http.StatusOK, nil)
		e.do(t, "GET", "/api/v1/numbers?owner="+url.QueryEscape(nasty[0])+"&role=%25&kind=_", e.boss, nil).want(t, http.StatusOK, nil)
		if n := len(listAll[directory.User](t, e, "/api/v1/users", e.boss)); n != len(nasty)+1 {
			t.Fatalf("%d users after the injections", n)
		}
	})
}

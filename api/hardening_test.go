package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/store/storetest"
)

// TestInvalidUTF8: JSON is UTF-8 (RFC 8259 section 8.1). A body that is not
// (a client sending Latin-1) is refused, not stored with its letters
// silently replaced by U+FFFD.
func TestInvalidUTF8(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.do(t, "POST", "/api/v1/leads", e.boss, "{\"phones\": [\"+13125550100\"], \"name\": \"Jos\xe9\"}").
			wantProblem(t, http.StatusBadRequest)
		if ls := listAll[directory.Lead](t, e, "/api/v1/leads", e.boss); len(ls) != 0 {
			t.Fatalf("stored %+v", ls)
		}
		e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", e.users["boss"]), e.boss, "{\"name\": \"Bo\xdf\"}").
			wantProblem(t, http.StatusBadRequest)
		var me directory.User
		e.do(t, "GET", "/api/v1/users/me", e.boss, nil).want(t, http.StatusOK, &me)
		if me.Name != "Boss" {
			t.Fatalf("name %q", me.Name)
		}
		// Invalid UTF-8 in a key is refused as well.
		e.do(t, "POST", "/api/v1/tokens", e.boss, "{\"name\": \"x\", \"\xff\": 1}").wantProblem(t, http.StatusBadRequest)
	})
}

// TestMediaTypes: the server takes application/json and, for PATCH, JSON
// merge patch (RFC 7396), as Accept-Patch says; other types, JSON Patch
// (RFC 6902) above all, are 415 (RFC 5789 section 2.2), not a misleading
// 400 about the body's shape. A charset other than UTF-8 is 415 too.
func TestMediaTypes(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		send := func(method, path, ct, body string) *resp {
			req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.boss)
			req.Header.Set("Content-Type", ct)
			return e.send(t, req)
		}
		r := send("PATCH", "/api/v1/settings", "application/json-patch+json", `[{"op": "replace", "path": "/voicemail", "value": false}]`)
		r.wantProblem(t, http.StatusUnsupportedMediaType)
		if r.header.Get("Accept-Patch") == "" {
			t.Fatal("415 without Accept-Patch")
		}
		for _, ct := range []string{"application/vnd.api+json", "application/problem+json", "application/json; charset=iso-8859-1"} {
			send("POST", "/api/v1/tokens", ct, `{"name": "x"}`).wantProblem(t, http.StatusUnsupportedMediaType)
			send("PATCH", "/api/v1/settings", ct, `{"voicemail": false}`).wantProblem(t, http.StatusUnsupportedMediaType)
		}
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON;charset=UTF-8", "application/merge-patch+json"} {
			send("PATCH", "/api/v1/settings", ct, `{"voicemail": false}`).want(t, http.StatusOK, nil)
		}
		send("POST", "/api/v1/tokens", "application/json; charset=utf-8", `{"name": "x"}`).want(t, http.StatusCreated, nil)
	})
}

// TestUnreadableBody: a body that breaks off before its Content-Length or
// has broken chunked framing is the client's fault: 400, not a 500 logged
// as a server error.
func TestUnreadableBody(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		for name, raw := range map[string]string{
			"truncated": "Content-Length: 100\r\n\r\n{\"phones\":",
			"chunked":   "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
		} {
			c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "POST /api/v1/leads HTTP/1.1\r\nHost: teamline\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/json\r\n%s", e.boss, raw)
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b, _ := io.ReadAll(res.Body)
			c.Close()
			r := &resp{status: res.StatusCode, header: res.Header, body: b}
			r.wantProblem(t, http.StatusBadRequest)
		}
		if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
			t.Fatalf("a client's broken body logged as a server error:\n%s", e.logs.String())
		}
	})
}

// TestRulesPagedWhileChanging: rules are listed in evaluation order and
// renumbered when one is deleted or inserted; a client paging through them
// meanwhile still sees every remaining rule exactly once.
func TestRulesPagedWhileChanging(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		rule := func(name string, position int) directory.Rule {
			var r directory.Rule
			e.do(t, "POST", "/api/v1/rules", e.boss, map[string]any{
				"name": name, "position": position, "criteria": map[string]any{"city": []string{"Austin"}},
				"agents": []map[string]any{{"user": "alice"}},
			}).want(t, http.StatusCreated, &r)
			return r
		}
		first := rule("r1", 0)
		for _, name := range []string{"r2", "r3", "r4", "r5"} {
			rule(name, 0)
		}
		names := func(p page[directory.Rule]) (out []string) {
			for _, r := range p.Items {
				out = append(out, r.Name)
			}
			return out
		}

		// Deleted before the cursor: the rules after it move up.
		var p page[directory.Rule]
		e.do(t, "GET", "/api/v1/rules?limit=2", e.boss, nil).want(t, http.StatusOK, &p)
		seen := names(p)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/rules/%d", first.ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		for p.Next != "" {
			next := p.Next
			p = page[directory.Rule]{}
			e.do(t, "GET", "/api/v1/rules?limit=2&after="+next, e.boss, nil).want(t, http.StatusOK, &p)
			seen = append(seen, names(p)...)
		}
		if got := fmt.Sprint(seen); got != "[r1 r2 r3 r4 r5]" {
			t.Fatalf("paged through %s, want [r1 r2 r3 r4 r5]", got)
		}

		// Inserted before the cursor, and the cursor's own rule deleted.
		e.do(t, "GET", "/api/v1/rules?limit=2", e.boss, nil).want(t, http.StatusOK, &p)
		seen = names(p)
		rule("r0", 1)
		e.do(t, "GET", "/api/v1/rules?limit=1&after="+p.Next, e.boss, nil).want(t, http.StatusOK, &p)
		seen = append(seen, names(p)...)
		e.do(t, "DELETE", fmt.Sprintf("/api/v1/rules/%d", p.Items[0].ID), e.boss, nil).want(t, http.StatusNoContent, nil)
		for p.Next != "" {
			next := p.Next
			p = page[directory.Rule]{}
			e.do(t, "GET", "/api/v1/rules?limit=1&after="+next, e.boss, nil).want(t, http.StatusOK, &p)
			seen = append(seen, names(p)...)
		}
		if got := fmt.Sprint(seen); got != "[r2 r3 r4 r5]" {
			t.Fatalf("paged through %s, want [r2 r3 r4 r5]", got)
		}

		// A cursor of another list is not one of this list.
		var u page[directory.User]
		e.do(t, "GET", "/api/v1/users?limit=1", e.boss, nil).want(t, http.StatusOK, &u)
		e.do(t, "GET", "/api/v1/rules?after="+u.Next, e.boss, nil).wantProblem(t, http.StatusBadRequest, "after")
	})
}

// TestClientGone: a request whose client went away (its context is
// canceled) is not a server error: no 500 in the metrics, no error log.
func TestClientGone(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		reg := prometheus.NewRegistry()
		logs := &testlog.Buffer{}
		h := api.New(e.svc, api.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))), api.WithRegisterer(reg), api.WithGatherer(reg)).Handler()
		// Cancel each request's context as the server does when the
		// connection drops, but keep the connection to read the answer.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		}))
		defer srv.Close()
		req, err := http.NewRequest("GET", srv.URL+"/api/v1/users", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.boss)
		r := e.send(t, req)
		if r.status >= 500 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Fatalf("a client's disconnect logged as a server error:\n%s", logs.String())
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "code" && strings.HasPrefix(l.GetValue(), "5") {
						t.Fatalf("counted as %s", l.GetValue())
					}
				}
			}
		}
	})
}

// TestDuplicateKeys: a field named twice in a body (RFC 8259 leaves the
// meaning open) is refused. encoding/json would merge two objects given
// for one map or struct field rather than let the last replace the first,
// against the PATCH rule that a given field replaces the stored one whole.
func TestDuplicateKeys(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		e.addUser("bob", directory.RoleAgent)
		var l directory.Lead
		e.do(t, "POST", "/api/v1/leads", e.boss, map[string]any{"phones": []string{"+13125550100"}}).want(t, http.StatusCreated, &l)
		path := fmt.Sprintf("/api/v1/leads/%d", l.ID)
		for _, body := range []string{
			`{"agents": {"buyer": "alice"}, "agents": {"seller": "bob"}}`,
			`{"agents": {"buyer": "alice"}, "Agents": {"seller": "bob"}}`,
			`{"name": "A", "name": "B"}`,
		} {
			e.do(t, "PATCH", path, e.boss, body).wantProblem(t, http.StatusBadRequest)
		}
		e.do(t, "GET", path, e.boss, nil).want(t, http.StatusOK, &l)
		if len(l.Agents) != 0 || l.Name != "" {
			t.Fatalf("lead changed: %+v", l)
		}
		// Repeated names inside a map are the map's business: the last wins.
		e.do(t, "PATCH", path, e.boss, `{"agents": {"buyer": "alice", "buyer": "bob"}}`).want(t, http.StatusOK, &l)
		if len(l.Agents) != 1 || l.Agents["buyer"] != "bob" {
			t.Fatalf("agents %v", l.Agents)
		}
	})
}

// A request that outlives its deadline gets a 503 problem, not a handler
// blocked forever on a hung database.
func TestRequestDeadline(t *testing.T) {
	e := newEnv(t, storetest.Drivers()[0])
	srv := httptest.NewServer(api.New(e.svc, api.WithRequestTimeout(time.Nanosecond)).Handler())
	defer srv.Close()
	for _, path := range []string{"/api/v1/users", "/healthz"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.boss)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s past its deadline: %d %s, want a 503 problem", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

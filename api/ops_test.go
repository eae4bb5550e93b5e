package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/teamline/teamline/store/storetest"
)

func TestHealthMetricsAndLogs(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		var h map[string]string
		r := e.do(t, "GET", "/healthz", "", nil).want(t, http.StatusOK, &h)
		if h["status"] != "ok" {
			t.Fatalf("healthz %s", r.body)
		}
		for _, name := range []string{"X-Request-Id", "X-Content-Type-Options", "Cache-Control"} {
			if r.header.Get(name) == "" {
				t.Fatalf("no %s", name)
			}
		}
		r = e.do(t, "GET", "/api/v1/users", e.boss, nil).want(t, http.StatusOK, nil)
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Content-Type-Options") != "nosniff" ||
			r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", r.header)
		}
		// A client's request id is kept; a hostile one is replaced.
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+e.boss)
		req.Header.Set("X-Request-Id", "proxy-42")
		if id := e.send(t, req).header.Get("X-Request-Id"); id != "proxy-42" {
			t.Fatalf("request id %q", id)
		}
		req.Header.Set("X-Request-Id", "evil\"id <script>")
		if id := e.send(t, req).header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, "\"<> ") {
			t.Fatalf("request id %q", id)
		}
		e.do(t, "GET", "/api/v1/users/7777", e.boss, nil).wantProblem(t, http.StatusNotFound)

		m := e.do(t, "GET", "/metrics", "", nil).want(t, http.StatusOK, nil)
		for _, want := range []string{
			`teamline_http_requests_total{code="200",method="GET",route="GET /api/v1/users"}`,
			`teamline_http_requests_total{code="404",method="GET",route="GET /api/v1/users/{id}"}`,
			`teamline_http_request_duration_seconds_bucket{route="GET /healthz"`,
		} {
			if !contains(m.body, want) {
				t.Fatalf("/metrics lacks %s:\n%s", want, m.body)
			}
		}

		// One log line per request, with the user; never the token.
		logs := e.logs.String()
		if strings.Contains(logs, e.boss) || strings.Contains(logs, "Bearer") {
			t.Fatal("a token reached the log")
		}
		var lines int
		for line := range strings.Lines(logs) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if rec["msg"] != "http request" {
				continue
			}
			lines++
			for _, k := range []string{"method", "path", "status", "duration", "request_id", "user"} {
				if _, ok := rec[k]; !ok {
					t.Fatalf("log line without %s: %s", k, line)
				}
			}
			if rec["path"] == "/api/v1/users" && rec["user"] != "boss" {
				t.Fatalf("log line without the user: %s", line)
			}
			if rec["path"] == "/healthz" || rec["path"] == "/metrics" {
				t.Fatalf("a successful probe or scrape logged at info: %s", line)
			}
		}
		// The API calls only: probes and scrapes log at debug.
		if lines != 4 {
			t.Fatalf("%d request log lines:\n%s", lines, logs)
		}
	})
}

// TestDatabaseDown: with the database gone /healthz says 503 and API
// calls get a generic 500 that quotes the request id; the real error is
// logged, not sent.
func TestDatabaseDown(t *testing.T) {
	e := newEnv(t, storetest.Drivers()[0])
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/healthz", "", nil)
	r.wantProblem(t, http.StatusServiceUnavailable)
	r = e.do(t, "GET", "/api/v1/users", e.boss, nil)
	p := r.wantProblem(t, http.StatusInternalServerError)
	id := r.header.Get("X-Request-Id")
	if !strings.Contains(p.Detail, id) || strings.Contains(string(r.body), "closed") {
		t.Fatalf("500 problem %s", r.body)
	}
	var logged bool
	for line := range strings.Lines(e.logs.String()) {
		logged = logged || strings.Contains(line, `"request failed"`) && strings.Contains(line, id) && strings.Contains(line, "closed")
	}
	if !logged {
		t.Fatalf("the error is not logged with request id %s:\n%s", id, e.logs.String())
	}
}

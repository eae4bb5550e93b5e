package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// env is a running API over a real database.
type env struct {
	t     testing.TB
	st    *store.Store
	svc   *directory.Service
	srv   *httptest.Server
	boss  string // token of the primary manager "boss"
	logs  *testlog.Buffer
	reg   *prometheus.Registry
	users map[string]int64
}

// eachDriver runs fn against every test database (SQLite always, MySQL
// when TEST_MYSQL_DSN is set).
func eachDriver(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) { fn(t, newEnv(t, driver)) })
	}
}

// newEnv starts the API over a fresh database with a primary manager
// "boss", created by the operator (a context without actor).
func newEnv(t testing.TB, driver string) *env { return newEnvWith(t, driver, nil) }

// newEnvWith is newEnv with the service options svcOpts and the server
// options more returns, given the store and service.
func newEnvWith(t testing.TB, driver string, more func(st *store.Store, svc *directory.Service) []api.Option,
	svcOpts ...directory.Option) *env {
	t.Helper()
	st := storetest.Open(t, driver)
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.NewService(st, phones, svcOpts...)
	e := &env{t: t, st: st, svc: svc, logs: &testlog.Buffer{}, reg: prometheus.NewRegistry(), users: map[string]int64{}}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	opts := []api.Option{api.WithLogger(log), api.WithRegisterer(e.reg), api.WithGatherer(e.reg), api.WithVersion("test"),
		api.WithCallRecords(st), api.WithContacts(st)}
	if more != nil {
		opts = append(opts, more(st, svc)...)
	}
	srv := api.New(svc, opts...)
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)
	e.boss = e.addUser("boss", directory.RolePrimaryManager)
	return e
}

// addUser creates a user through the service as the operator and returns
// a token for it.
func (e *env) addUser(username string, role directory.Role) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.svc.CreateUser(ctx, directory.User{Username: username, Name: strings.ToUpper(username[:1]) + username[1:], Role: role})
	if err != nil {
		e.t.Fatalf("create user %s: %v", username, err)
	}
	e.users[username] = u.ID
	return e.token(username)
}

func (e *env) token(username string) string {
	e.t.Helper()
	_, secret, err := e.svc.CreateToken(context.Background(), username, "test", 0)
	if err != nil {
		e.t.Fatalf("token for %s: %v", username, err)
	}
	return secret
}

// resp is a response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is JSON-encoded unless it is a string or
// []byte, which are sent as they are.
func (e *env) do(t testing.TB, method, path, token string, body any) *resp {
	t.Helper()
	return e.send(t, e.request(t, method, path, token, body))
}

// request builds the request do sends, for tests that add headers.
func (e *env) request(t testing.TB, method, path, token string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func (e *env) send(t testing.TB, req *http.Request) *resp {
	t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// want checks the status and decodes the body into v (if not nil).
func (r *resp) want(t testing.TB, status int, v any) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
	return r
}

// problem is a decoded problem document.
type problem struct {
	Type   string                 `json:"type"`
	Title  string                 `json:"title"`
	Status int                    `json:"status"`
	Detail string                 `json:"detail"`
	Errors []directory.FieldError `json:"errors"`
}

// wantProblem checks a problem response and, if fields are given, that
// each is named in its errors.
func (r *resp) wantProblem(t testing.TB, status int, fields ...string) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("incomplete problem: %s", r.body)
	}
	for _, f := range fields {
		found := false
		for _, fe := range p.Errors {
			found = found || fe.Field == f
		}
		if !found {
			t.Fatalf("problem does not name field %q: %s", f, r.body)
		}
	}
	return p
}

// page is a decoded list response.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// listAll follows "next" from path until the last page and checks the
// Link header agrees with "next".
func listAll[T any](t testing.TB, e *env, path, token string) []T {
	t.Helper()
	var all []T
	url := path
	for range 1000 {
		var p page[T]
		r := e.do(t, "GET", url, token, nil).want(t, http.StatusOK, &p)
		if p.Items == nil {
			t.Fatalf("items is null: %s", r.body)
		}
		all = append(all, p.Items...)
		link := r.header.Get("Link")
		if p.Next == "" {
			if link != "" {
				t.Fatalf("Link %q on the last page", link)
			}
			return all
		}
		if !strings.Contains(link, `rel="next"`) || !strings.HasPrefix(link, "</") {
			t.Fatalf("Link %q with next %q", link, p.Next)
		}
		url = link[1:strings.Index(link, ">")]
	}
	t.Fatal("pagination does not end")
	return nil
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

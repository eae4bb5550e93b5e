package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPanicBecomes500: a panicking handler answers a generic 500 problem
// and the panic is logged with the request id.
func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	s := New(nil, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithRegisterer(prometheus.NewRegistry()))
	h := s.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != 500 || p.Status != 500 || strings.Contains(rec.Body.String(), "boom") || id == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "secret boom") || !strings.Contains(logs.String(), id) {
		t.Fatalf("panic not logged:\n%s", logs.String())
	}
}

func TestBearer(t *testing.T) {
	for _, c := range []struct {
		h, token string
		ok       bool
	}{
		{"Bearer tl_abc", "tl_abc", true},
		{"bearer   tl_abc ", "tl_abc", true},
		{"BEARER tl_abc", "tl_abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"tl_abc", "", false},
		{"", "", false},
	} {
		token, ok := bearer(c.h)
		if token != c.token || ok != c.ok {
			t.Errorf("bearer(%q) = %q, %v", c.h, token, ok)
		}
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]string{"": "0s", "720h": "720h0m0s", "30d": "720h0m0s", "90m": "1h30m0s"} {
		d, ok := parseTTL(in)
		if !ok || d.String() != want {
			t.Errorf("parseTTL(%q) = %v, %v", in, d, ok)
		}
	}
	for _, in := range []string{"soon", "-1h", "0", "0d", "-3d", "1.5d", "999999999d"} {
		if _, ok := parseTTL(in); ok {
			t.Errorf("parseTTL(%q) accepted", in)
		}
	}
}

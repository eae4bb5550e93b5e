package api_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/teamline/teamline/directory"
)

func TestETagAndIfMatch(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		path := "/api/v1/users/" + strconv.FormatInt(e.users["alice"], 10)
		send := func(method, ifMatch, body string) *http.Response { return sendIf(t, e, method, path, ifMatch, body) }
		v1 := send("GET", "", "").Header.Get("ETag")
		if v1 == "" {
			t.Fatal("GET has no ETag")
		}
		res := send("PATCH", v1, `{"name": "Alice A"}`)
		v2 := res.Header.Get("ETag")
		if res.StatusCode != 200 || v2 == "" || v2 == v1 {
			t.Fatalf("PATCH with the current ETag: %d, ETag %q (was %q)", res.StatusCode, v2, v1)
		}
		if res := send("PATCH", v1, `{"name": "Alice B"}`); res.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("PATCH with a stale ETag: %d, want 412", res.StatusCode)
		}
		if res := send("DELETE", v1, ""); res.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("DELETE with a stale ETag: %d, want 412", res.StatusCode)
		}
		if got := send("GET", "", "").Header.Get("ETag"); got != v2 {
			t.Fatalf("refused requests changed the user: ETag %q, want %q", got, v2)
		}
		if res := send("DELETE", v2, ""); res.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE with the current ETag: %d", res.StatusCode)
		}
	})
}

func TestSettingsETag(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		send := func(method, ifMatch, body string) *http.Response {
			return sendIf(t, e, method, "/api/v1/settings", ifMatch, body)
		}
		v1 := send("GET", "", "").Header.Get("ETag")
		res := send("PATCH", v1, `{"ring_timeout_seconds": 45}`)
		if res.StatusCode != 200 || res.Header.Get("ETag") == v1 {
			t.Fatalf("PATCH settings with the current ETag: %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
		}
		if res := send("PATCH", v1, `{"ring_timeout_seconds": 50}`); res.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("PATCH settings with a stale ETag: %d, want 412", res.StatusCode)
		}
	})
}

// sendIf sends a request as the primary manager, with If-Match when given.
func sendIf(t *testing.T, e *env, method, path, ifMatch, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+e.boss)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

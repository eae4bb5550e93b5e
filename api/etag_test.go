package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/teamline/teamline/directory"
)

func TestETagAndIfMatch(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		e.addUser("alice", directory.RoleAgent)
		path := "/api/v1/users/" + strconv.FormatInt(e.users["alice"], 10)
		send := func(method, ifMatch string, body any) *resp { return sendIf(t, e, method, path, ifMatch, body) }
		v1 := send("GET", "", nil).header.Get("ETag")
		if v1 == "" {
			t.Fatal("GET has no ETag")
		}
		res := send("PATCH", v1, `{"name": "Alice A"}`)
		v2 := res.header.Get("ETag")
		if res.status != 200 || v2 == "" || v2 == v1 {
			t.Fatalf("PATCH with the current ETag: %d, ETag %q (was %q)", res.status, v2, v1)
		}
		if res := send("PATCH", v1, `{"name": "Alice B"}`); res.status != http.StatusPreconditionFailed {
			t.Fatalf("PATCH with a stale ETag: %d, want 412", res.status)
		}
		if res := send("DELETE", v1, nil); res.status != http.StatusPreconditionFailed {
			t.Fatalf("DELETE with a stale ETag: %d, want 412", res.status)
		}
		if got := send("GET", "", nil).header.Get("ETag"); got != v2 {
			t.Fatalf("refused requests changed the user: ETag %q, want %q", got, v2)
		}
		if res := send("DELETE", v2, nil); res.status != http.StatusNoContent {
			t.Fatalf("DELETE with the current ETag: %d", res.status)
		}
	})
}

func TestSettingsETag(t *testing.T) {
	eachDriver(t, func(t *testing.T, e *env) {
		send := func(method, ifMatch string, body any) *resp {
			return sendIf(t, e, method, "/api/v1/settings", ifMatch, body)
		}
		v1 := send("GET", "", nil).header.Get("ETag")
		res := send("PATCH", v1, `{"ring_timeout_seconds": 45}`)
		if res.status != 200 || res.header.Get("ETag") == v1 {
			t.Fatalf("PATCH settings with the current ETag: %d, ETag %q", res.status, res.header.Get("ETag"))
		}
		if res := send("PATCH", v1, `{"ring_timeout_seconds": 50}`); res.status != http.StatusPreconditionFailed {
			t.Fatalf("PATCH settings with a stale ETag: %d, want 412", res.status)
		}
	})
}

// sendIf sends a request as the primary manager, with If-Match when given.
func sendIf(t *testing.T, e *env, method, path, ifMatch string, body any) *resp {
	t.Helper()
	req := e.request(t, method, path, e.boss, body)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	return e.send(t, req)
}

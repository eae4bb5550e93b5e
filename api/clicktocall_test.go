package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
)

func TestClickToCall(t *testing.T) {
	fd := &fakeDialer{next: 100}
	e := newEnvWith(t, "sqlite", func(*store.Store, *directory.Service) []api.Option {
		return []api.Option{api.WithDialer(fd)}
	})
	alice := e.addUser("alice", directory.RoleAgent)
	e.addUser("bob", directory.RoleAgent)
	mia := e.addUser("mia", directory.RoleManager)

	// An agent calls as herself; numbers in any form arrive as E.164.
	var placed struct {
		CallRecordID int64 `json:"call_record_id"`
	}
	r := e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "(737) 555-0001", "caller_id": "512 555 0100"}).
		want(t, http.StatusAccepted, &placed)
	if placed.CallRecordID != 101 || r.header.Get("Location") != "/api/v1/calls/101" {
		t.Fatalf("answer %s, Location %q", r.body, r.header.Get("Location"))
	}
	if d := fd.dials[0]; d != (router.Dial{User: "alice", To: "+17375550001", CallerID: "+15125550100"}) {
		t.Fatalf("dialled %+v", d)
	}
	if fd.actors[0] {
		t.Fatal("the call was placed as the user, not as the gateway")
	}
	// ... also when she names herself; not as someone else.
	e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "+17375550001", "user": "Alice"}).want(t, http.StatusAccepted, nil)
	e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "+17375550001", "user": "bob"}).wantProblem(t, http.StatusForbidden)
	// A manager rings another user's phones first.
	e.do(t, "POST", "/api/v1/calls", mia, map[string]any{"to": "+17375550001", "user": "bob"}).want(t, http.StatusAccepted, nil)
	if d := fd.dials[len(fd.dials)-1]; d.User != "bob" || d.CallerID != "" {
		t.Fatalf("dialled %+v", d)
	}
	e.do(t, "POST", "/api/v1/calls", mia, map[string]any{"to": "+17375550001", "user": "nobody"}).wantProblem(t, http.StatusNotFound)
	calls := len(fd.dials)

	// Bad input never reaches the dialer.
	e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"caller_id": "+15125550100"}).wantProblem(t, http.StatusUnprocessableEntity, "to")
	e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "12", "caller_id": "x"}).
		wantProblem(t, http.StatusUnprocessableEntity, "to", "caller_id")
	e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "+17375550001", "from": "+15125550100"}).
		wantProblem(t, http.StatusBadRequest, "from")
	if len(fd.dials) != calls {
		t.Fatalf("the dialer was asked %d times, want %d", len(fd.dials), calls)
	}

	// The dialer's refusals, as the user reads them.
	for _, tt := range []struct {
		err    error
		status int
		detail string
	}{
		{router.ErrNoDialer, http.StatusForbidden, "dialer not enabled for this user"},
		{fmt.Errorf("sip: alice: %w", router.ErrCallerID), http.StatusForbidden, "caller ID not allowed for this user"},
		{router.ErrInternational, http.StatusForbidden, "international calls are not enabled"},
		{router.ErrNoCallerID, http.StatusConflict, "no number to call from"},
		{router.ErrUnavailable, http.StatusConflict, "agent has no registered phone"},
		{&directory.ValidationError{Object: "call", Fields: []directory.FieldError{{Field: "to", Detail: "is not a number"}}},
			http.StatusUnprocessableEntity, "invalid call"},
		{fmt.Errorf("%w: user %q", directory.ErrNotFound, "alice"), http.StatusNotFound, `user "alice"`},
	} {
		fd.err = tt.err
		p := e.do(t, "POST", "/api/v1/calls", alice, map[string]any{"to": "+17375550001"}).wantProblem(t, tt.status)
		if !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("%v: detail %q, want %q", tt.err, p.Detail, tt.detail)
		}
	}
}

// Without a dialer click-to-call is "not enabled", like recordings.
func TestClickToCallNotEnabled(t *testing.T) {
	e := newEnv(t, "sqlite")
	p := e.do(t, "POST", "/api/v1/calls", e.boss, map[string]any{"to": "+17375550001"}).wantProblem(t, http.StatusNotFound)
	if !strings.HasSuffix(p.Type, "/not-enabled") {
		t.Fatalf("problem %+v", p)
	}
	// Listing the records is unchanged.
	e.do(t, "GET", "/api/v1/calls", e.boss, nil).want(t, http.StatusOK, nil)
}

package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

func TestStatusFor(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		reason string
	}{
		{nil, 200, "OK"},
		{&telephonyDisabledError{reason: "no buyer role number"}, 480, "Temporarily Unavailable"},
		{errNoRoute, 404, "No Route"},
		{fmt.Errorf("routing +1555: %w", errNoRoute), 404, "No Route"},
		{errNoDialog, 481, "Call/Transaction Does Not Exist"},
		{errRegistrarDisabled, 403, "Registrar Not Enabled"},
		{errMethodNotAllowed, 405, "Method Not Allowed"},
		{&badExtensionError{tags: []string{"100rel"}}, 420, "Bad Extension"},
		{errShuttingDown, 503, "Service Unavailable"},
		{errInternal, 500, "Server Internal Error"},
		{errors.New("something unforeseen"), 500, "Server Internal Error"},
	}
	for _, tt := range tests {
		code, reason := statusFor(tt.err)
		if code != tt.code || reason != tt.reason {
			t.Errorf("statusFor(%v) = %d %q, want %d %q", tt.err, code, reason, tt.code, tt.reason)
		}
	}
}

func TestCheckRequire(t *testing.T) {
	req := func(method gosip.RequestMethod, require ...string) *gosip.Request {
		r := gosip.NewRequest(method, gosip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		for _, v := range require {
			r.AppendHeader(gosip.NewHeader("Require", v))
		}
		return r
	}
	tests := []struct {
		name string
		req  *gosip.Request
		want []string // nil: accepted
	}{
		{"none", req(gosip.INVITE), nil},
		{"one", req(gosip.INVITE, "100rel"), []string{"100rel"}},
		{"list and headers", req(gosip.INVITE, "100rel, timer", "replaces"), []string{"100rel", "timer", "replaces"}},
		{"not echoed if not a token", req(gosip.INVITE, "bad\"tag"), nil},
		{"CANCEL is never rejected", req(gosip.CANCEL, "100rel"), nil},
	}
	for _, tt := range tests {
		err := checkRequire(tt.req)
		var bad *badExtensionError
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: %v, want accepted", tt.name, err)
		case tt.want != nil && (!errors.As(err, &bad) || !slices.Equal(bad.tags, tt.want)):
			t.Errorf("%s: %v, want 420 for %v", tt.name, err, tt.want)
		}
	}
}

// Allow must list exactly the methods that are not answered 405, plus ACK
// (handled apart).
func TestAllowMatchesMethodTable(t *testing.T) {
	s := &Server{}
	var want []string
	for m := range s.methodTable() {
		want = append(want, string(m))
	}
	want = append(want, "ACK")
	got := strings.Split(allowedMethods, ", ")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Allow = %v, method table says %v", got, want)
	}
}

func TestMethodLabel(t *testing.T) {
	if got := methodLabel(gosip.INVITE); got != "INVITE" {
		t.Errorf("INVITE -> %q", got)
	}
	if got := methodLabel("X-SCANNER-" + gosip.RequestMethod(strings.Repeat("A", 50))); got != "OTHER" {
		t.Errorf("unknown method -> %q, want OTHER", got)
	}
}

func TestBlankQuoted(t *testing.T) {
	tests := []struct{ in, want string }{
		{`transmission beginning 'garbage secret' is not a SIP message`, `transmission beginning '…' is not a SIP message`},
		{`field name with no value in header: "Authorization: Digest \"x\""`, `field name with no value in header: '…'`},
		{`no quotes`, `no quotes`},
		{`unbalanced 'rest is hidden`, `unbalanced '…'`},
	}
	for _, tt := range tests {
		if got := blankQuoted(tt.in); got != tt.want {
			t.Errorf("blankQuoted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInflight(t *testing.T) {
	var f inflight
	if _, ok := f.enter(); ok {
		t.Fatal("admitted a request before open")
	}
	f.open(context.Background())
	if _, ok := f.enter(); !ok {
		t.Fatal("refused a request while open")
	}
	done := make(chan struct{})
	go func() { f.closeAndWait(); close(done) }()
	// closeAndWait must wait for the admitted request...
	for {
		f.mu.Lock()
		closed := f.closed
		f.mu.Unlock()
		if closed {
			break
		}
	}
	select {
	case <-done:
		t.Fatal("closeAndWait returned with a request in flight")
	default:
	}
	// ...and refuse new ones meanwhile.
	if _, ok := f.enter(); ok {
		t.Fatal("admitted a request while closing")
	}
	f.leave()
	<-done
}

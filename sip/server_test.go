package sip_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/sip"
)

func TestInviteIsRefusedCleanly(t *testing.T) {
	tel := &switchTelephony{}
	srv := startServer(t, tel, loopback)
	c := newClient(t)

	for _, transport := range []string{"udp", "tcp"} {
		addr := srv.Addr(transport)
		t.Run(transport+"/telephony disabled", func(t *testing.T) {
			tel.on.Store(false)
			res := do(t, c, newInvite(t, transport, addr))
			if res.StatusCode != 480 || res.Reason != "Temporarily Unavailable" {
				t.Fatalf("got %d %s, want 480 Temporarily Unavailable", res.StatusCode, res.Reason)
			}
			want := `399 teamline "telephony disabled: no buyer role number"`
			if got := header(res, "Warning"); got != want {
				t.Errorf("Warning = %q, want %q", got, want)
			}
			if to := res.To(); to == nil || !to.Params.Has("tag") {
				t.Errorf("final response without To tag: %v", to)
			}
		})
		t.Run(transport+"/telephony enabled", func(t *testing.T) {
			tel.on.Store(true)
			res := do(t, c, newInvite(t, transport, addr))
			if res.StatusCode != 404 || res.Reason != "No Route" {
				t.Fatalf("got %d %s, want 404 No Route", res.StatusCode, res.Reason)
			}
			if got := header(res, "Warning"); got != "" {
				t.Errorf("unexpected Warning %q", got)
			}
		})
	}

	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	logs := srv.logs.String()
	if !strings.Contains(logs, `"msg":"sip request answered","call_id":`) || !strings.Contains(logs, `"status":480`) {
		t.Errorf("no INVITE log line with call_id and status:\n%s", logs)
	}
	if strings.Contains(logs, "m=audio") || strings.Contains(logs, "PCMU") {
		t.Errorf("a message body was logged:\n%s", logs)
	}
}

func TestMethods(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	c := newClient(t)

	tests := []struct {
		name       string
		method     gosip.RequestMethod
		edit       func(*gosip.Request)
		wantCode   int
		wantHeader map[string]string
	}{
		{name: "OPTIONS keepalive", method: gosip.OPTIONS, wantCode: 200, wantHeader: map[string]string{
			"Allow":  "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, INFO",
			"Accept": "application/sdp",
			"Server": "Teamline",
		}},
		{name: "REGISTER", method: gosip.REGISTER, wantCode: 403},
		{name: "BYE outside a dialog", method: gosip.BYE, wantCode: 481},
		{name: "CANCEL without INVITE", method: gosip.CANCEL, wantCode: 481},
		{name: "MESSAGE", method: gosip.MESSAGE, wantCode: 404, edit: func(r *gosip.Request) {
			r.AppendHeader(gosip.NewHeader("Content-Type", "text/plain"))
			r.SetBody([]byte("secret text"))
		}},
		{name: "SUBSCRIBE", method: gosip.SUBSCRIBE, wantCode: 405, wantHeader: map[string]string{
			"Allow": "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, REGISTER, INFO",
		}},
		{name: "PUBLISH", method: gosip.PUBLISH, wantCode: 405},
		{name: "unknown method", method: "FROBNICATE", wantCode: 405},
		{name: "re-INVITE for unknown dialog", method: gosip.INVITE, wantCode: 481, edit: func(r *gosip.Request) {
			r.AppendHeader(gosip.NewHeader("To", "<sip:+15551230000@127.0.0.1>;tag=abc123"))
		}},
		{name: "INVITE requiring 100rel", method: gosip.INVITE, wantCode: 420, edit: func(r *gosip.Request) {
			r.AppendHeader(gosip.NewHeader("Require", "100rel"))
		}, wantHeader: map[string]string{"Unsupported": "100rel"}},
	}
	for _, transport := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(transport+"/"+tt.name, func(t *testing.T) {
				req := newRequest(t, tt.method, transport, srv.Addr(transport), "+15551230000")
				if tt.edit != nil {
					tt.edit(req)
				}
				res := do(t, c, req)
				if res.StatusCode != tt.wantCode {
					t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tt.wantCode)
				}
				for name, want := range tt.wantHeader {
					if got := header(res, name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
			})
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if logs := srv.logs.String(); strings.Contains(logs, "secret text") {
		t.Errorf("a message body was logged:\n%s", logs)
	}
}

func TestRequestsAreCounted(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback[:1])
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collectors()...)
	c := newClient(t)
	addr := srv.Addr("udp")

	do(t, c, newInvite(t, "udp", addr))
	do(t, c, newRequest(t, gosip.OPTIONS, "udp", addr, "ping"))
	do(t, c, newRequest(t, gosip.OPTIONS, "udp", addr, "ping"))
	do(t, c, newRequest(t, "X-SCAN-1", "udp", addr, "x"))

	want := map[string]float64{
		"INVITE/480":  1,
		"OPTIONS/200": 2,
		"OTHER/405":   1,
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "teamline_sip_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["method"]+"/"+labels["response"]] = m.GetCounter().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("teamline_sip_requests_total{%s} = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestNewServerNeedsTelephony(t *testing.T) {
	if _, err := sip.NewServer(nil, loopback, nil); err == nil {
		t.Fatal("NewServer accepted a nil Telephony")
	}
}

func TestPanickingTelephonyAnswers500AndServes(t *testing.T) {
	tel := sip.TelephonyFunc(func(context.Context) (bool, string) { panic("database driver bug") })
	srv := startServer(t, tel, loopback[:1])
	c := newClient(t)
	addr := srv.Addr("udp")

	if res := do(t, c, newInvite(t, "udp", addr)); res.StatusCode != 500 {
		t.Errorf("INVITE with a panicking Telephony: %d, want 500", res.StatusCode)
	}
	if res := do(t, c, newRequest(t, gosip.OPTIONS, "udp", addr, "ping")); res.StatusCode != 200 {
		t.Errorf("OPTIONS after a panic: %d", res.StatusCode)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, `"msg":"sip handler panicked","call_id":`) {
		t.Errorf("panic not logged with call_id:\n%s", logs)
	}
}

func TestIPv6(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	srv := startServer(t, &switchTelephony{}, []sip.Listener{
		{Transport: "udp", Address: "[::1]:0"},
		{Transport: "tcp", Address: "[::1]:0"},
	})
	c := newClient(t)
	for _, transport := range []string{"udp", "tcp"} {
		if res := do(t, c, newInvite(t, transport, srv.Addr(transport))); res.StatusCode != 480 {
			t.Errorf("INVITE over %s/IPv6: %d", transport, res.StatusCode)
		}
	}
}

// A call in progress when the server stops still gets its answer, and Run
// waits for it.
func TestStopAnswersCallsInProgress(t *testing.T) {
	entered := make(chan struct{})
	tel := sip.TelephonyFunc(func(ctx context.Context) (bool, string) {
		close(entered)
		<-ctx.Done() // a slow database, interrupted by shutdown
		return false, "gateway stopping"
	})
	srv := startServer(t, tel, loopback[:1])
	c := newClient(t)

	res := make(chan *gosip.Response, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := c.Do(ctx, newInvite(t, "udp", srv.Addr("udp")))
		if err != nil {
			t.Errorf("INVITE: %v", err)
		}
		res <- r
	}()
	<-entered
	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := <-res
	if r == nil {
		return
	}
	if r.StatusCode != 480 || header(r, "Warning") != `399 teamline "telephony disabled: gateway stopping"` {
		t.Errorf("call in progress answered %d %q", r.StatusCode, header(r, "Warning"))
	}
}

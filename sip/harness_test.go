package sip_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/sip"
)

// switchTelephony is a Telephony whose answer the test flips.
type switchTelephony struct{ on atomic.Bool }

func (s *switchTelephony) Enabled(context.Context) (bool, string) {
	if s.on.Load() {
		return true, ""
	}
	return false, "no buyer role number"
}

type testServer struct {
	*sip.Server
	logs *testlog.Buffer
	stop func() error // cancels Run and returns its error; idempotent
}

// loopback is the listeners most tests use: UDP and TCP on free ports.
var loopback = []sip.Listener{
	{Transport: "udp", Address: "127.0.0.1:0"},
	{Transport: "tcp", Address: "127.0.0.1:0"},
}

// startServer runs a server until the test ends, then checks that Run
// returned nil and left no goroutine behind.
func startServer(t testing.TB, tel sip.Telephony, listeners []sip.Listener, opts ...sip.Option) *testServer {
	t.Helper()
	return startServerLogging(t, slog.LevelDebug, tel, listeners, opts...)
}

// startServerLogging is startServer with the server logging at level: a
// fuzz run's millions of messages would fill memory at Debug.
func startServerLogging(t testing.TB, level slog.Level, tel sip.Telephony, listeners []sip.Listener, opts ...sip.Option) *testServer {
	t.Helper()
	// Only goroutines started from here on count: a leak is reported by
	// the test that made it, not by every test after it.
	before := goleak.IgnoreCurrent()
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	srv, err := sip.NewServer(log, listeners, tel, opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("server not ready after 5s")
	}
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return 30s after cancel")
			return nil
		}
	})
	// Cleanups run last-registered first: clients close, the server stops,
	// then nothing may be left running.
	t.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			t.Errorf("goroutines left after Run returned: %v\nserver log:\n%s", err, logs)
		}
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	return &testServer{Server: srv, logs: logs, stop: stop}
}

// newClient is a sipgo UAC like a trunk or softphone, closed at test end.
func newClient(t *testing.T) *sipgo.Client {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("test-uac"),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newRequest builds a request to user at addr over transport ("udp", "tcp").
func newRequest(t *testing.T, method gosip.RequestMethod, transport, addr, user string) *gosip.Request {
	t.Helper()
	var uri gosip.Uri
	s := "sip:" + user + "@" + addr
	if transport != "udp" {
		s += ";transport=" + transport
	}
	if err := gosip.ParseUri(s, &uri); err != nil {
		t.Fatal(err)
	}
	req := gosip.NewRequest(method, uri)
	req.SetTransport(strings.ToUpper(transport))
	return req
}

// do sends req and returns the final response.
func do(t *testing.T, c *sipgo.Client, req *gosip.Request) *gosip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

const offer = "v=0\r\n" +
	"o=- 4242 1 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"c=IN IP4 127.0.0.1\r\n" +
	"t=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=sendrecv\r\n"

// newInvite builds an INVITE with an SDP offer, as a trunk sends it.
func newInvite(t *testing.T, transport, addr string) *gosip.Request {
	req := newRequest(t, gosip.INVITE, transport, addr, "+15551230000")
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(gosip.NewHeader("Contact", "<sip:+15557654321@127.0.0.1>"))
	req.SetBody([]byte(offer))
	return req
}

func header(res *gosip.Response, name string) string {
	h := res.GetHeader(name)
	if h == nil {
		return ""
	}
	return h.Value()
}

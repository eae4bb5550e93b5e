package sip_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/teamline/teamline/sip"
)

func TestRunFailsOnPortInUse(t *testing.T) {
	defer goleak.VerifyNone(t)

	// Something else holds a UDP and a TCP port.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	tests := []struct {
		name      string
		listeners []sip.Listener
		want      string
	}{
		{"udp", []sip.Listener{{Transport: "udp", Address: pc.LocalAddr().String()}}, "udp " + pc.LocalAddr().String()},
		{"tcp", []sip.Listener{{Transport: "tcp", Address: ln.Addr().String()}}, "tcp " + ln.Addr().String()},
		// The first listener binds, the second fails: Run must close the
		// first and return without serving (Ready stays open, goleak).
		{"second of two", []sip.Listener{
			{Transport: "udp", Address: "127.0.0.1:0"},
			{Transport: "tcp", Address: ln.Addr().String()},
		}, "tcp " + ln.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := sip.NewServer(nil, tt.listeners, &switchTelephony{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = srv.Run(ctx)
			if err == nil {
				t.Fatal("Run succeeded on a port in use")
			}
			if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("error %q: want it to name %q and wrap EADDRINUSE", err, tt.want)
			}
			select {
			case <-srv.Ready():
				t.Error("Ready closed although binding failed")
			default:
			}
		})
	}
}

func TestRunReleasesPortsOnStop(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	addrs := srv.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("Addrs = %v", addrs)
	}
	for _, a := range addrs {
		if strings.HasSuffix(a.Address, ":0") {
			t.Errorf("Addrs reports unresolved port: %v", a)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	// The same ports can be bound again at once.
	again := startServer(t, &switchTelephony{}, addrs)
	if got := again.Addrs(); got[0] != addrs[0] || got[1] != addrs[1] {
		t.Errorf("rebound %v, want %v", got, addrs)
	}
}

func TestRunTwice(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback[:1])
	if err := srv.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestNewServerChecksConfig(t *testing.T) {
	tel := &switchTelephony{}
	tests := []struct {
		name      string
		listeners []sip.Listener
		opts      []sip.Option
		want      string
		wantErr   error
	}{
		{name: "none", want: "no listeners"},
		{name: "ws", listeners: []sip.Listener{{Transport: "ws", Address: "127.0.0.1:8080"}}, wantErr: sip.ErrTransportNotSupported},
		{name: "wss", listeners: []sip.Listener{{Transport: "WSS", Address: "127.0.0.1:8443"}}, wantErr: sip.ErrTransportNotSupported},
		{name: "unknown transport", listeners: []sip.Listener{{Transport: "sctp", Address: "127.0.0.1:5060"}}, want: `unknown transport "sctp"`},
		{name: "host name", listeners: []sip.Listener{{Transport: "udp", Address: "localhost:5060"}}, want: "must be an IP"},
		{name: "bad port", listeners: []sip.Listener{{Transport: "udp", Address: "127.0.0.1:99999"}}, want: "bad port"},
		{name: "twice", listeners: []sip.Listener{{Transport: "udp", Address: "127.0.0.1:5060"}, {Transport: "UDP", Address: "127.0.0.1"}}, want: "given twice"},
		{name: "tls without cert", listeners: []sip.Listener{{Transport: "tls", Address: "127.0.0.1:0"}}, want: "use WithTLS"},
		{name: "tls cert missing", listeners: []sip.Listener{{Transport: "tls", Address: "127.0.0.1:0"}},
			opts: []sip.Option{sip.WithTLS("/nonexistent/cert.pem", "/nonexistent/key.pem")}, want: "tls certificate"},
		{name: "advertise with port", listeners: loopback, opts: []sip.Option{sip.WithAdvertise("gw.example.com:5060")}, want: "without port"},
		{name: "realm with quote", listeners: loopback, opts: []sip.Option{sip.WithRealm(`te"amline`)}, want: "realm"},
		{name: "empty user agent", listeners: loopback, opts: []sip.Option{sip.WithUserAgent(" ")}, want: "user agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sip.NewServer(nil, tt.listeners, tel, tt.opts...)
			if err == nil {
				t.Fatal("NewServer accepted it")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q, want %v", err, tt.wantErr)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
}

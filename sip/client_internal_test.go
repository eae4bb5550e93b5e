package sip

import (
	"bufio"
	"context"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

// Requests the gateway sends must leave from its listening socket (UDP) and
// name its advertised address in Via, or the trunk's answers go nowhere.
func TestRequestsLeaveFromListener(t *testing.T) {
	srv, err := NewServer(nil, []Listener{
		{Transport: "udp", Address: "127.0.0.1:0"},
		{Transport: "tcp", Address: "127.0.0.1:0"},
	}, TelephonyFunc(func(context.Context) (bool, string) { return false, "" }),
		WithAdvertise("198.51.100.7"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		goleak.VerifyNone(t)
	}()
	<-srv.Ready()

	t.Run("udp", func(t *testing.T) {
		trunk, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer trunk.Close()
		if err := srv.client("udp").WriteRequest(newOptions(t, trunk.LocalAddr().String(), "")); err != nil {
			t.Fatal(err)
		}
		_ = trunk.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, from, err := trunk.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if listen := srv.Addr("udp"); from.String() != listen {
			t.Errorf("request came from %s, want the listener %s", from, listen)
		}
		_, port, _ := net.SplitHostPort(srv.Addr("udp"))
		if via := topVia(t, string(buf[:n])); !strings.HasPrefix(via, "SIP/2.0/UDP 198.51.100.7:"+port+";") {
			t.Errorf("Via %q, want sent-by 198.51.100.7:%s", via, port)
		}
	})

	t.Run("tcp", func(t *testing.T) {
		trunk, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer trunk.Close()
		if err := srv.client("tcp").WriteRequest(newOptions(t, trunk.Addr().String(), ";transport=tcp")); err != nil {
			t.Fatal(err)
		}
		conn, err := trunk.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		// TCP cannot leave from the listening port; Via tells the trunk
		// where to connect back.
		_, port, _ := net.SplitHostPort(srv.Addr("tcp"))
		if via := topVia(t, string(buf[:n])); !strings.HasPrefix(via, "SIP/2.0/TCP 198.51.100.7:"+port+";") {
			t.Errorf("Via %q, want sent-by 198.51.100.7:%s", via, port)
		}
	})
}

func newOptions(t *testing.T, addr, params string) *gosip.Request {
	t.Helper()
	var uri gosip.Uri
	if err := gosip.ParseUri("sip:ping@"+addr+params, &uri); err != nil {
		t.Fatal(err)
	}
	return gosip.NewRequest(gosip.OPTIONS, uri)
}

func topVia(t *testing.T, msg string) string {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(msg)))
	if _, err := r.ReadLine(); err != nil {
		t.Fatal(err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		t.Fatal(err)
	}
	return h.Get("Via")
}

package sip_test

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/sip"
)

// setStreamLimits applies limits for this test; they are restored after the
// server has stopped (cleanups run last-registered first, so register this
// before startServer).
func setStreamLimits(t *testing.T, idle, write time.Duration, conns int) {
	t.Cleanup(sip.SetStreamLimits(idle, write, conns))
}

// expectClosed fails unless the server closes conn within d.
func expectClosed(t *testing.T, conn net.Conn, d time.Duration, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue // responses to what it sent
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: server kept the connection open %v", what, d)
		}
		return // EOF or reset: closed
	}
}

// optionsOn sends an OPTIONS on conn and returns the status line of the
// answer, "" if the connection closed.
func optionsOn(t *testing.T, conn net.Conn, addr string, seq int) string {
	t.Helper()
	local := conn.LocalAddr().String()
	msg := "OPTIONS sip:ping@" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-busy" + strconv.Itoa(seq) + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:t@" + local + ">;tag=busy\r\nTo: <sip:ping@" + addr + ">\r\n" +
		"Call-ID: busy-" + strconv.Itoa(seq) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := io.WriteString(conn, msg); err != nil {
		return ""
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// A TCP peer that connects and never finishes a message (slowloris) or never
// sends at all must not hold a descriptor and goroutines for ever.
func TestIdleTCPConnectionsAreClosed(t *testing.T) {
	setStreamLimits(t, 300*time.Millisecond, 10*time.Second, 1024)
	srv := startServer(t, &switchTelephony{}, loopback)
	addr := srv.Addr("tcp")

	silent := dialTCP(t, addr)
	partial := dialTCP(t, addr)
	if _, err := io.WriteString(partial, "OPTIONS sip:ping@"+addr+" SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKslow\r\n"); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, silent, 5*time.Second, "silent connection")
	expectClosed(t, partial, 5*time.Second, "half a message")

	// A connection that keeps talking stays open past the idle timeout: the
	// same socket is answered for 6 x 100 ms, twice the timeout.
	talker := dialTCP(t, addr)
	for i := range 6 {
		if got := optionsOn(t, talker, addr, i); !strings.HasPrefix(got, "SIP/2.0 200") {
			t.Fatalf("OPTIONS %d on a busy connection: %q", i, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for line := range strings.SplitSeq(srv.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("idle timeout logged above Debug: %s", line)
		}
	}
}

// Connections past the limit are closed at once; the ones within it, and new
// ones once others closed, are served.
func TestTCPConnectionLimit(t *testing.T) {
	setStreamLimits(t, time.Minute, 10*time.Second, 3)
	srv := startServer(t, &switchTelephony{}, loopback)
	addr := srv.Addr("tcp")

	held := []net.Conn{dialTCP(t, addr), dialTCP(t, addr), dialTCP(t, addr)}
	extra := dialTCP(t, addr)
	expectClosed(t, extra, 5*time.Second, "connection over the limit")

	// The held ones still work.
	ping := func(conn net.Conn, branch string) string {
		t.Helper()
		local := conn.LocalAddr().String()
		msg := "OPTIONS sip:ping@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK" + branch + "\r\n" +
			"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n" +
			"Call-ID: limit-" + branch + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer on a held connection: %v", err)
		}
		return firstLine(string(buf[:n]))
	}
	if got := ping(held[0], "held0"); got != "SIP/2.0 200 OK" {
		t.Fatalf("held connection answered %q", got)
	}
	// Closing one frees its slot.
	_ = held[1].Close()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		conn := dialTCP(t, addr)
		local := conn.LocalAddr().String()
		msg := "OPTIONS sip:ping@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bKnew" + strconv.Itoa(i) + "\r\n" +
			"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n" +
			"Call-ID: limit-new" + strconv.Itoa(i) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		_, _ = io.WriteString(conn, msg)
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4096)
		if n, err := conn.Read(buf); err == nil && firstLine(string(buf[:n])) == "SIP/2.0 200 OK" {
			break
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("a freed slot was never reused")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A peer that sends requests but never reads the responses fills the socket
// buffers; the response write must give up and close that connection
// rather than block its handler, and with it shutdown, for ever.
func TestTCPPeerThatDoesNotReadCannotBlockShutdown(t *testing.T) {
	setStreamLimits(t, time.Minute, 300*time.Millisecond, 1024)
	srv := startServer(t, &switchTelephony{}, loopback)
	addr := srv.Addr("tcp")

	conn := dialTCP(t, addr)
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	local := conn.LocalAddr().String()
	// A big response: a long Via is echoed in it. 64 kB per response fills
	// several megabytes of socket buffers in ~100 requests.
	pad := strings.Repeat("x", 60000)
	var sent int
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for i := range 400 {
		msg := "OPTIONS sip:ping@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bKfill" + strconv.Itoa(i) + ";pad=" + pad + "\r\n" +
			"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n" +
			"Call-ID: fill-" + strconv.Itoa(i) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := io.WriteString(conn, msg); err != nil {
			break // the server closed it: what we want
		}
		sent++
	}
	t.Logf("%d requests sent", sent)
	time.Sleep(time.Second) // the handlers run into the full buffers

	// The server still answers others, and stops in time.
	c := newClient(t)
	if res := do(t, c, newRequest(t, gosip.OPTIONS, "udp", srv.Addr("udp"), "ping")); res.StatusCode != 200 {
		t.Fatalf("OPTIONS over udp: %d", res.StatusCode)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5 s after cancel: a handler is stuck writing to a peer that does not read")
	}
}

package sip_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// A SIP port on the internet gets garbage: scanners, truncated datagrams,
// broken stacks. None of it may stop the server or fill the logs with errors.

func TestMalformedUDPIsDropped(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	addr := srv.Addr("udp")

	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()

	packets := []string{
		"\x00\x01\x02\xff\xfe garbage that is not SIP \r\n\r\n",
		"INVITE\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		// Bad headers: CSeq without a number, Via without a host.
		"INVITE sip:+15551230000@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP\r\n" +
			"CSeq: banana INVITE\r\n" +
			"From: <sip:a@127.0.0.1>;tag=1\r\n" +
			"To: <sip:b@127.0.0.1>\r\n" +
			"Call-ID: malformed-1\r\n" +
			"Content-Type: application/sdp\r\n" +
			"Content-Length: 9999\r\n\r\n" +
			"v=0\r\nsecret-body\r\n",
		// Headers with no value, an oversized Content-Length and a body
		// shorter than announced.
		"INVITE sip:x@" + addr + " SIP/2.0\r\nVia:\r\nTo:\r\nFrom:\r\n\r\n",
	}
	for _, p := range packets {
		if _, err := conn.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}

	// A request without CSeq cannot make a transaction: the intake
	// answers it 400, so the sender stops retransmitting.
	noCSeq := "OPTIONS sip:ping@" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bKnocseq\r\n" +
		"From: <sip:a@127.0.0.1>;tag=1\r\n" +
		"To: <sip:b@127.0.0.1>\r\n" +
		"Call-ID: malformed-2\r\n" +
		"Content-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(noCSeq)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no answer to a request without CSeq: %v", err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "SIP/2.0 400 ") {
		t.Errorf("request without CSeq answered %q, want 400", firstLine(got))
	}

	// Still serving, on both transports.
	c := newClient(t)
	for _, transport := range []string{"udp", "tcp"} {
		res := do(t, c, newRequest(t, gosip.OPTIONS, transport, srv.Addr(transport), "ping"))
		if res.StatusCode != 200 {
			t.Errorf("OPTIONS over %s after garbage: %d", transport, res.StatusCode)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertQuietLogs(t, srv.logs.String(), "secret-body", "garbage that is not SIP")
}

func TestMalformedTCPClosesOnlyThatConnection(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	addr := srv.Addr("tcp")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("\x16\x03\x01 not sip at all, maybe a TLS hello\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// A stream that does not speak SIP is closed: we read EOF, not a
	// hang.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(conn).ReadByte(); err == nil {
		t.Error("server answered garbage on TCP instead of closing")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("server kept a garbage TCP connection open")
	}

	c := newClient(t)
	res := do(t, c, newRequest(t, gosip.OPTIONS, "tcp", addr, "ping"))
	if res.StatusCode != 200 {
		t.Errorf("OPTIONS over tcp after garbage: %d", res.StatusCode)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertQuietLogs(t, srv.logs.String(), "not sip at all")
}

// assertQuietLogs checks that malformed input left no Warn or Error line and
// none of the given payload fragments in the logs.
func assertQuietLogs(t *testing.T, logs string, payloads ...string) {
	t.Helper()
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("malformed input logged above Debug: %s", line)
		}
	}
	for _, p := range payloads {
		if strings.Contains(logs, p) {
			t.Errorf("payload %q was logged", p)
		}
	}
	if !strings.Contains(logs, `"msg":"sip message refused at intake"`) {
		t.Errorf("the refusal is not logged at all (want a Debug line):\n%s", logs)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

package sip_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/sip"
	"github.com/teamline/teamline/sip/intake"
)

// The SIP edge over real sockets: every message goes through the intake
// check before anything else (docs/SIP-EDGE.md), so a malformed request is
// answered with what is wrong, over UDP and TCP alike, and valid but
// unusual messages reach the gateway in a form it reads.

// edgeRequest is a request from local over transport to the gateway at gw,
// with %s-free placeholders: LOCAL, GW, BRANCH, TRANSPORT.
func edgeRequest(tmpl, transport, local, gw string, n int) []byte {
	r := strings.NewReplacer("LOCAL", local, "GW", gw, "BRANCH", "z9hG4bK-edge-"+strconv.Itoa(n),
		"TRANSPORT", strings.ToUpper(transport), "CALLID", "edge-"+strconv.Itoa(n)+"@test", "\n", "\r\n")
	return []byte(r.Replace(tmpl))
}

const edgeOptions = `OPTIONS sip:ping@GW SIP/2.0
Via: SIP/2.0/TRANSPORT LOCAL;branch=BRANCH;rport
Max-Forwards: 70
From: <sip:tester@LOCAL>;tag=e1
To: <sip:ping@GW>
Call-ID: CALLID
CSeq: 1 OPTIONS
Content-Length: 0

`

const edgeInvite = `INVITE sip:+15551230000@GW SIP/2.0
Via: SIP/2.0/TRANSPORT LOCAL;branch=BRANCH;rport
Max-Forwards: 70
From: <sip:+15557654321@LOCAL>;tag=e1
To: <sip:+15551230000@GW>
Call-ID: CALLID
CSeq: 1 INVITE
Contact: <sip:+15557654321@LOCAL>
Content-Type: application/sdp
Content-Length: 4

v=0
`

// exchange sends msg to the gateway's transport listener and returns the
// first final response's start line and the whole response.
func exchange(t testing.TB, srv *testServer, transport string, build func(local string) []byte) (status, whole string) {
	t.Helper()
	conn, err := net.Dial(transport, srv.Addr(transport))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(build(conn.LocalAddr().String())); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := readResponse(r, transport)
		if err != nil {
			t.Fatalf("no answer over %s: %v\nthe server's log of that connection:\n%s", transport, err, linesWith(srv.logs.String(), conn.LocalAddr().String()))
		}
		if !strings.HasPrefix(res, "SIP/2.0 1") {
			return firstLine(res), res
		}
	}
}

// linesWith returns the lines of logs that mention what.
func linesWith(logs, what string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, what) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// readResponse reads one response: a datagram, or a message framed by
// Content-Length from a stream.
func readResponse(r *bufio.Reader, transport string) (string, error) {
	if transport == "udp" {
		buf := make([]byte, 65536)
		n, err := r.Read(buf)
		return string(buf[:n]), err
	}
	var b strings.Builder
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" && b.Len() == 0 {
			continue // a keepalive pong (RFC 5626 3.5.1) before the answer
		}
		b.WriteString(line)
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	_, err := io.ReadFull(r, body)
	return b.String() + string(body), err
}

func TestIntakeAnswersWhatIsWrong(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collectors()...)
	tests := []struct {
		name, tmpl, want string
	}{
		{"CSeq method", strings.Replace(edgeInvite, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1), "SIP/2.0 400 CSeq Method Mismatch"},
		{"two Call-IDs", strings.Replace(edgeInvite, "Call-ID: CALLID\n", "Call-ID: CALLID\nCall-ID: other@test\n", 1), "SIP/2.0 400 Duplicate Call-ID"},
		{"two Content-Lengths", strings.Replace(edgeInvite, "Content-Length: 4\n", "Content-Length: 4\nl: 4\n", 1), "SIP/2.0 400 Duplicate Content-Length"},
		{"NUL in Call-ID", strings.Replace(edgeInvite, "Call-ID: CALLID", "Call-ID: nul\x00CALLID", 1), "SIP/2.0 400 Control Character"},
		{"body without Content-Type", strings.Replace(edgeInvite, "Content-Type: application/sdp\n", "", 1), "SIP/2.0 400 Missing Content-Type"},
		{"SIP/7.0", strings.Replace(edgeInvite, "@GW SIP/2.0", "@GW SIP/7.0", 1), "SIP/2.0 505 Version Not Supported"},
		{"no Call-ID", strings.Replace(edgeInvite, "Call-ID: CALLID\n", "", 1), "SIP/2.0 400 Missing Call-ID"},
		{"unknown scheme", strings.Replace(edgeInvite, "INVITE sip:+15551230000@GW", "INVITE mailto:x@GW", 1), "SIP/2.0 416 Unsupported URI Scheme"},
		{"20,000 digits", strings.Replace(edgeInvite, "INVITE sip:+15551230000@GW", "INVITE sip:"+strings.Repeat("5", 20000)+"@GW", 1), "SIP/2.0 414 Request-URI Too Long"},
		// Valid, only unusual: the gateway's own answer (telephony is off).
		{"lower-case version", strings.Replace(edgeInvite, "@GW SIP/2.0", "@GW sip/2.0", 1), "SIP/2.0 480 Temporarily Unavailable"},
		{"spaces around separators", strings.Replace(edgeInvite, "LOCAL;branch=BRANCH;rport", "LOCAL ; branch = BRANCH ; rport", 1), "SIP/2.0 480 Temporarily Unavailable"},
		{"leading blank lines", "\n\n" + edgeInvite, "SIP/2.0 480 Temporarily Unavailable"},
	}
	for i, tt := range tests {
		for _, transport := range []string{"udp", "tcp"} {
			t.Run(tt.name+"/"+transport, func(t *testing.T) {
				status, res := exchange(t, srv, transport, func(local string) []byte {
					return edgeRequest(tt.tmpl, transport, local, srv.Addr(transport), i)
				})
				if status != tt.want {
					t.Fatalf("answered %q, want %q:\n%s", status, tt.want, res)
				}
				if strings.HasPrefix(tt.want, "SIP/2.0 4") && !strings.Contains(res, "\r\nWarning: 399 teamline \"") && !strings.Contains(tt.want, " 480 ") {
					t.Errorf("no Warning saying why:\n%s", res)
				}
				// RFC 3581: the top Via comes back with the port the
				// request came from as rport's value.
				if !regexp.MustCompile(`\r\nVia: SIP/2\.0/` + strings.ToUpper(transport) + ` 127\.0\.0\.1:(\d+);branch=[^;\r]+;rport=(\d+)`).MatchString(res) {
					t.Errorf("top Via without rport's value:\n%s", res)
				}
			})
		}
	}
	if got := rejectedCount(t, reg, "cseq_mismatch", "answered"); got != 2 {
		t.Errorf("teamline_sip_intake_rejected_total{reason=cseq_mismatch,action=answered} = %v, want 2", got)
	}
}

// rejectedCount reads one series of the intake counter from reg.
func rejectedCount(t *testing.T, reg *prometheus.Registry, reason, action string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "teamline_sip_intake_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["reason"] == reason && labels["action"] == action {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// A Via whose port is on a folded continuation line (RFC 3261 7.3.1, SWS
// around the colon): the answer goes to that port, not to 5060 or the
// source port.
func TestFoldedViaPortIsKept(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback[:1])
	recv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	send, err := net.Dial("udp", srv.Addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	port := recv.LocalAddr().(*net.UDPAddr).Port
	tmpl := strings.Replace(edgeInvite, "Via: SIP/2.0/TRANSPORT LOCAL;branch=BRANCH;rport",
		"Via: SIP/2.0/UDP 127.0.0.1\n   : "+strconv.Itoa(port)+"\n ;branch=BRANCH", 1)
	if _, err := send.Write(edgeRequest(tmpl, "udp", "127.0.0.1", srv.Addr("udp"), 1)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := recv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("nothing reached the Via's port %d: %v", port, err)
		}
		if line := firstLine(string(buf[:n])); !strings.HasPrefix(line, "SIP/2.0 1") {
			if line != "SIP/2.0 480 Temporarily Unavailable" {
				t.Fatalf("answered %q", line)
			}
			return
		}
	}
}

// RFC 3261 18.1.1 and 18.2.2: large messages are accepted up to the limit
// and answered whatever their size; beyond it, 513.
func TestLargeMessages(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	t.Run("200 Via headers over UDP", func(t *testing.T) {
		status, res := exchange(t, srv, "udp", func(local string) []byte {
			var vias strings.Builder
			for i := range 199 {
				fmt.Fprintf(&vias, "Via: SIP/2.0/UDP proxy-%d.example.com:5060;branch=z9hG4bK-hop-%d\n", i, i)
			}
			return edgeRequest(strings.Replace(edgeOptions, "Max-Forwards:", vias.String()+"Max-Forwards:", 1), "udp", local, srv.Addr("udp"), 1)
		})
		if status != "SIP/2.0 200 OK" || strings.Count(res, "\r\nVia: ") != 200 {
			t.Fatalf("answered %q with %d Via headers", status, strings.Count(res, "\r\nVia: "))
		}
	})
	t.Run("40 KB request over UDP", func(t *testing.T) {
		status, _ := exchange(t, srv, "udp", func(local string) []byte {
			pad := "X-Padding: " + strings.Repeat("p", 1000) + "\n"
			return edgeRequest(strings.Replace(edgeOptions, "Max-Forwards:", strings.Repeat(pad, 40)+"Max-Forwards:", 1), "udp", local, srv.Addr("udp"), 2)
		})
		if status != "SIP/2.0 200 OK" {
			t.Fatalf("answered %q", status)
		}
	})
	t.Run("70 KB request over TCP", func(t *testing.T) {
		status, _ := exchange(t, srv, "tcp", func(local string) []byte {
			body := strings.Repeat("a", 70000)
			tmpl := strings.Replace(strings.Replace(edgeOptions, "Content-Length: 0", "Content-Type: text/plain\nContent-Length: 70000", 1), "\n\n", "\n\n"+body, 1)
			return edgeRequest(tmpl, "tcp", local, srv.Addr("tcp"), 3)
		})
		if status != "SIP/2.0 513 Message Too Large" {
			t.Fatalf("answered %q", status)
		}
	})
}

// RFC 5626 3.5.1: a CRLFCRLF ping over a stream is answered with CRLF, and
// the connection goes on.
func TestStreamKeepalive(t *testing.T) {
	srv := startServer(t, &switchTelephony{}, loopback)
	conn, err := net.Dial("tcp", srv.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	pong := make([]byte, 2)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong %q, %v", pong, err)
	}
	if _, err := conn.Write(edgeRequest(edgeOptions, "tcp", conn.LocalAddr().String(), srv.Addr("tcp"), 1)); err != nil {
		t.Fatal(err)
	}
	res, err := readResponse(bufio.NewReader(conn), "tcp")
	if err != nil || firstLine(res) != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after the ping: %q, %v", firstLine(res), err)
	}
}

// FuzzSIPEdge feeds arbitrary bytes to a running server, as a datagram and
// as a stream, and checks: nothing the intake refuses gets a 2xx, and the
// server still answers a valid OPTIONS afterwards (a panic anywhere fails
// the run). go test -fuzz FuzzSIPEdge -run '^$' ./sip/
func FuzzSIPEdge(f *testing.F) {
	for i, tmpl := range []string{edgeOptions, edgeInvite,
		strings.Replace(edgeInvite, "CSeq: 1 INVITE", "CSeq: 1 OPTIONS", 1),
		strings.Replace(edgeOptions, "Call-ID: CALLID\n", "Call-ID: CALLID\ni: x\n", 1),
		"\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n"} {
		f.Add(edgeRequest(tmpl, "udp", "127.0.0.1:5099", "127.0.0.1:5060", i))
	}
	srv := startServerLogging(f, slog.LevelWarn, &switchTelephony{}, loopback)
	check := intake.NewChecker(intake.Limits{}, sip.DefaultUserAgent)
	// The TCP probe keeps one connection: tens of thousands of short ones
	// from one client reuse its ports within seconds, which is the
	// client's problem, not the server's.
	probe := &tcpProbe{}
	probe.replace(f, srv)
	f.Cleanup(func() {
		_ = probe.conn.Close()
		if n := probe.redials.Load(); n > 0 {
			f.Logf("the TCP probe connection was replaced %d times", n)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) { edgeRound(t, srv, check, probe, data) })
}

// probes numbers the OPTIONS of edgeRound: each needs a branch of its own,
// or a reused port would make it a retransmission of an earlier one (RFC
// 3261 17.2.3 matches on branch and sent-by).
var probes atomic.Int64

// edgeRound is one input of FuzzSIPEdge.
func edgeRound(t *testing.T, srv *testServer, check *intake.Checker, probe *tcpProbe, data []byte) {
	n := int(probes.Add(1)) + 1000
	callID := []byte("\r\nCall-ID: edge-" + strconv.Itoa(n) + "@test\r\n")
	{
		_, rejected := check.Check(data, netip.AddrPort{}, true, nil)
		// Datagram: the input, then an OPTIONS on the same socket; the
		// server reads them in order.
		conn, err := net.Dial("udp", srv.Addr("udp"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		local := conn.LocalAddr().String()
		_, _ = conn.Write(data)
		if _, err := conn.Write(edgeRequest(edgeOptions, "udp", local, srv.Addr("udp"), n)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65536)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no answer to a valid OPTIONS after %q: %v", data, err)
			}
			res := buf[:n]
			if bytes.Contains(res, callID) && bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
				break
			}
			if rejected != nil && bytes.HasPrefix(res, []byte("SIP/2.0 2")) {
				t.Fatalf("refused by the intake (%s) but answered %q", rejected.Detail, firstLine(string(res)))
			}
		}
		// Stream: the input on its own connection, closed for writing so
		// the server reads to its end; then a fresh connection must work.
		tc, err := net.Dial("tcp", srv.Addr("tcp"))
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		_, _ = tc.Write(data)
		_ = tc.(*net.TCPConn).CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		all, _ := io.ReadAll(tc)
		// The first message the stream holds: if the intake refuses it,
		// the first answer on the connection is not a 2xx.
		first := check.NewStream(netip.AddrPort{})
		first.Feed(data)
		if fr, ok := first.Next(nil); ok && fr.Rejected != nil && bytes.HasPrefix(all, []byte("SIP/2.0 2")) {
			t.Fatalf("a stream the intake refuses (%s) was answered %q", fr.Rejected.Detail, firstLine(string(all)))
		}
		// The valid OPTIONS over TCP, on the long-lived probe connection.
		if _, err := probe.conn.Write(edgeRequest(edgeOptions, "tcp", probe.conn.LocalAddr().String(), srv.Addr("tcp"), n)); err != nil {
			t.Fatalf("the TCP probe connection broke after %q: %v", data, err)
		}
		_ = probe.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := readResponse(probe.r, "tcp")
		if err == nil && strings.HasPrefix(res, "SIP/2.0 200 ") && strings.Contains(res, string(callID)) {
			return
		}
		// Seen only under the fuzzer, every few thousand inputs, when the
		// worker process stalls for seconds: the probe's answer does not
		// come. The server must then answer on a new connection.
		probe.redials.Add(1)
		if status, _ := exchange(t, srv, "tcp", func(local string) []byte {
			return edgeRequest(edgeOptions, "tcp", local, srv.Addr("tcp"), n+1_000_000_000)
		}); status != "SIP/2.0 200 OK" {
			t.Fatalf("OPTIONS over TCP after %q: %q (the probe connection: %q, %v)", data, status, firstLine(res), err)
		}
		probe.replace(t, srv)
	}
}

// tcpProbe is FuzzSIPEdge's long-lived TCP connection for its OPTIONS.
type tcpProbe struct {
	conn    net.Conn
	r       *bufio.Reader
	redials atomic.Int64
}

func (p *tcpProbe) replace(t testing.TB, srv *testServer) {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	c, err := net.Dial("tcp", srv.Addr("tcp"))
	if err != nil {
		t.Fatal(err)
	}
	p.conn, p.r = c, bufio.NewReader(c)
}

// Connections the gateway opens itself (a trunk over TCP) pass the intake
// too: the carrier's first answer carries a control byte and is dropped
// (counted), its second, well-formed one reaches the caller.
func TestDialedTrunkConnectionPassesTheIntake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "raw-tcp", Proxy: ln.Addr().String(), Transport: "tcp", Outbound: true}}
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(gw.Collectors()...)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		invite, err := readResponse(bufio.NewReader(conn), "tcp") // frames a request the same way
		if err != nil {
			return
		}
		var echo strings.Builder
		for line := range strings.SplitSeq(invite, "\r\n") {
			name, _, _ := strings.Cut(line, ":")
			switch strings.ToLower(name) {
			case "via", "from", "call-id", "cseq":
				echo.WriteString(line + "\r\n")
			case "to":
				echo.WriteString(line + ";tag=raw\r\n")
			}
		}
		bad := "SIP/2.0 486 Busy Here\r\n" + echo.String() + "X-Broken: a\x01b\r\nContent-Length: 0\r\n\r\n"
		good := "SIP/2.0 486 Busy Here\r\n" + echo.String() + "Content-Length: 0\r\n\r\n"
		_, _ = conn.Write([]byte(bad))
		time.Sleep(200 * time.Millisecond) // the gateway must be past the first one
		_, _ = conn.Write([]byte(good))
		_, _ = io.Copy(io.Discard, conn) // the ACK
	}()
	alice := registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	_, err = alice.call(gw, "5125557777", "alice", aliceAuth)
	if code := statusOf(t, err); code != 486 {
		t.Fatalf("call through the raw TCP trunk: %d, want 486", code)
	}
	if n := rejectedCount(t, reg, "response_control_character", "dropped"); n != 1 {
		t.Errorf("the broken answer was counted %v times, want once", n)
	}
}

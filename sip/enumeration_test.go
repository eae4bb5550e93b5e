package sip_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/teamline/teamline/sip"
)

// wirePeer speaks SIP over a plain socket, so that a test sees every byte
// of an answer the way a scanner on the internet does.
type wirePeer struct {
	t         *testing.T
	transport string // "udp" or "tcp"
	conn      net.Conn
	r         *bufio.Reader
	gw        string // the gateway's address on that transport
	n         int
}

// newWirePeer connects to gw over transport from ip (127.0.0.2 is the test
// trunk's address).
func newWirePeer(t *testing.T, gw *gateway, transport, ip string) *wirePeer {
	t.Helper()
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(ip)}
	if transport == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	conn, err := (&net.Dialer{LocalAddr: local}).Dial(transport, gw.Addr(transport))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &wirePeer{t: t, transport: transport, conn: conn, r: bufio.NewReaderSize(conn, 65536), gw: gw.Addr(transport)}
}

// wireRequest is what a peer sends; name is the user it claims to be.
type wireRequest struct {
	method  string
	uri     string // Request-URI
	from    string // From and (for REGISTER and SUBSCRIBE) To user
	to      string
	headers []string
	ctype   string
	body    string
}

// message renders the request; callID and cseq keep the lines apart.
func (p *wirePeer) message(r wireRequest, callID string, cseq int, extra ...string) string {
	local := p.conn.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", r.method, r.uri)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK%s-%d;rport\r\n", strings.ToUpper(p.transport), local, callID, cseq)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@127.0.0.1>;tag=f%s\r\n", r.from, callID)
	fmt.Fprintf(&b, "To: <sip:%s@127.0.0.1>\r\n", r.to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, r.method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", r.from, local)
	for _, h := range append(append([]string(nil), r.headers...), extra...) {
		b.WriteString(h + "\r\n")
	}
	if r.body != "" {
		b.WriteString("Content-Type: " + r.ctype + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(r.body), r.body)
	return b.String()
}

// do sends r (with extra headers) and returns the final answer as it came,
// or "" when none came within wait. An INVITE's non-2xx answer is
// acknowledged (RFC 3261 17.1.1.3), so it is not sent again.
func (p *wirePeer) do(r wireRequest, wait time.Duration, extra ...string) string {
	p.t.Helper()
	p.n++
	callID := fmt.Sprintf("enum%d%d", time.Now().UnixNano(), p.n)
	msg := p.message(r, callID, 1, extra...)
	if _, err := p.conn.Write([]byte(msg)); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		_ = p.conn.SetReadDeadline(deadline)
		res, err := p.read()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return ""
			}
			p.t.Fatalf("%s: reading the answer: %v", r.method, err)
		}
		if !strings.Contains(res, "\r\nCall-ID: "+callID+"\r\n") || strings.HasPrefix(res, "SIP/2.0 1") {
			continue // a provisional answer, or a late one to an earlier request
		}
		if r.method == "INVITE" {
			p.ack(res, msg)
		}
		return res
	}
}

// ack acknowledges a final non-2xx answer to the INVITE inv: same Via
// branch, From, Call-ID, the To of the answer (RFC 3261 17.1.1.3).
func (p *wirePeer) ack(res, inv string) {
	var b strings.Builder
	lines := strings.Split(inv, "\r\n")
	b.WriteString(strings.Replace(lines[0], "INVITE", "ACK", 1) + "\r\n")
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "Via:"), strings.HasPrefix(l, "From:"), strings.HasPrefix(l, "Call-ID:"),
			strings.HasPrefix(l, "Max-Forwards:"):
			b.WriteString(l + "\r\n")
		case strings.HasPrefix(l, "CSeq:"):
			b.WriteString(strings.Replace(l, "INVITE", "ACK", 1) + "\r\n")
		}
	}
	b.WriteString(wireHeader(res, "To") + "\r\nContent-Length: 0\r\n\r\n")
	_, _ = p.conn.Write([]byte(b.String()))
}

// read reads one message: a datagram, or one message framed by
// Content-Length from the stream.
func (p *wirePeer) read() (string, error) {
	if p.transport == "udp" {
		buf := make([]byte, 65536)
		n, err := p.conn.Read(buf)
		return string(buf[:n]), err
	}
	var head strings.Builder
	for {
		line, err := p.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if line == "\r\n" && head.Len() == 0 {
			continue // keepalive
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	n, _ := strconv.Atoi(strings.TrimSpace(wireHeader(head.String(), "Content-Length")[len("Content-Length:"):]))
	body := make([]byte, n)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return "", err
	}
	return head.String() + string(body), nil
}

// wireHeader returns the first header line of msg named name ("" if none).
func wireHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n")[1:] {
		if l == "" {
			break
		}
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			return l
		}
	}
	return ""
}

var nonceParam = regexp.MustCompile(`nonce="[^"]*"`)

// shape is what an answer tells about the request beyond echoing it: the
// status line as sent, then every header line in order, by name only where
// it echoes the request (Via, From, To, Call-ID, CSeq: these carry the
// name the request claimed and its tags), with nonces masked; and the body.
func shape(res string) string {
	head, body, _ := strings.Cut(res, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	out := []string{lines[0]}
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "via", "from", "to", "call-id", "cseq":
			out = append(out, name)
		default:
			out = append(out, nonceParam.ReplaceAllString(l, `nonce="..."`))
		}
	}
	return strings.Join(out, "\n") + "\n\n" + body
}

// answerChallenge computes credentials for the challenge in res (RFC 3261
// 22.4) as name with password; the header to send them in follows the
// challenge's code. Without a challenge, credentials for a made-up nonce.
func answerChallenge(t *testing.T, res string, r wireRequest, name, password string) string {
	t.Helper()
	field, value := "Proxy-Authorization", `Digest realm="teamline", nonce="AAAA", algorithm=MD5, qop="auth"`
	if h := wireHeader(res, "WWW-Authenticate"); h != "" {
		field, value = "Authorization", strings.TrimSpace(h[len("WWW-Authenticate:"):])
	} else if h := wireHeader(res, "Proxy-Authenticate"); h != "" {
		value = strings.TrimSpace(h[len("Proxy-Authenticate:"):])
	}
	chal, err := digest.ParseChallenge(value)
	if err != nil {
		t.Fatalf("challenge %q: %v", value, err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: r.method, URI: r.uri, Username: name, Password: password, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return field + ": " + cred.String()
}

// The requests an outsider can use to find out whether a user exists, as
// the user name: the first user part is what the request claims to be.
func enumRequests(gw *gateway, transport, name string) []wireRequest {
	host := gw.Addr(transport)
	return []wireRequest{
		{method: "INVITE", uri: "sip:+15125550110@" + host, from: name, to: "+15125550110",
			ctype: "application/sdp", body: offer},
		{method: "MESSAGE", uri: "sip:+15125550110@" + host, from: name, to: "+15125550110",
			ctype: "text/plain", body: "hello"},
		{method: "SUBSCRIBE", uri: "sip:" + name + "@" + host, from: name, to: name,
			headers: []string{"Event: message-summary", "Expires: 3600"}},
		{method: "REGISTER", uri: "sip:" + host, from: name, to: name, headers: []string{"Expires: 300"}},
	}
}

// TestNoUserEnumeration: from an address that is no trunk's, INVITE,
// MESSAGE, SUBSCRIBE and REGISTER get the same answer, byte for byte but
// for what echoes the request and the nonce, whether the name they claim is
// a user with a SIP login (alice), a user without one (maria) or nobody:
// without credentials, and with wrong ones. The challenge is made without a
// directory lookup, and failed credentials cost one lookup whoever they
// name.
func TestNoUserEnumeration(t *testing.T) {
	var lookups *userLookups
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Registrar.MaxAuthFailures = 1000 // this test fails on purpose, often
		lookups = &userLookups{Directory: b.Directory}
		b.Directory = lookups
	})
	names := []string{"alice", "maria", "nosuchuser"}
	want := map[string][2]string{ // method: status line without and with wrong credentials
		"INVITE":    {"SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 403 Forbidden"},
		"MESSAGE":   {"SIP/2.0 407 Proxy Authentication Required", "SIP/2.0 403 Forbidden"},
		"SUBSCRIBE": {"SIP/2.0 405 Method Not Allowed", "SIP/2.0 405 Method Not Allowed"},
		"REGISTER":  {"SIP/2.0 401 Unauthorized", "SIP/2.0 403 Forbidden"},
	}
	for _, transport := range []string{"udp", "tcp"} {
		peer := newWirePeer(t, gw, transport, "127.0.0.1")
		for i, proto := range enumRequests(gw, transport, "x") {
			method := proto.method
			var first [2]string
			for _, name := range names {
				r := enumRequests(gw, transport, name)[i]
				before := lookups.n.Load()
				challenge := peer.do(r, 5*time.Second)
				if n := lookups.n.Load() - before; n != 0 {
					t.Errorf("%s %s as %s: %d user lookups before any credentials, want none", transport, method, name, n)
				}
				before = lookups.n.Load()
				failed := peer.do(r, 5*time.Second, answerChallenge(t, challenge, r, name, "wrong-password"))
				wantLookups := int32(1)
				if method == "SUBSCRIBE" {
					wantLookups = 0
				}
				if n := lookups.n.Load() - before; n != wantLookups {
					t.Errorf("%s %s as %s with wrong credentials: %d user lookups, want %d", transport, method, name, n, wantLookups)
				}
				for k, res := range [2]string{challenge, failed} {
					if res == "" {
						t.Fatalf("%s %s as %s: no answer", transport, method, name)
					}
					if line, _, _ := strings.Cut(res, "\r\n"); line != want[method][k] {
						t.Errorf("%s %s as %s: %q, want %q", transport, method, name, line, want[method][k])
					}
					if first[k] == "" {
						first[k] = shape(res)
					} else if got := shape(res); got != first[k] {
						t.Errorf("%s %s: %s is told apart from %s:\n%s\n--- versus ---\n%s", transport, method, name, names[0], got, first[k])
					}
				}
			}
		}
	}
	// The right password still works: MESSAGE then gets today's answer
	// for texts (they are not routed yet).
	peer := newWirePeer(t, gw, "udp", "127.0.0.1")
	r := enumRequests(gw, "udp", "alice")[1]
	res := peer.do(r, 5*time.Second, answerChallenge(t, peer.do(r, 5*time.Second), r, "alice", "alice-pw-1"))
	if line, _, _ := strings.Cut(res, "\r\n"); line != "SIP/2.0 404 No Route" {
		t.Errorf("MESSAGE from alice with her password: %q, want 404 No Route", line)
	}
}

// With sip.unknown_source: drop, failed credentials from an address that
// is no trunk's get no answer at all, for users and non-users alike; the
// challenge itself is still sent to everyone.
func TestNoUserEnumerationDrop(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Registrar.MaxAuthFailures = 1000
		b.Registrar.DropUnknown = true
	})
	peer := newWirePeer(t, gw, "udp", "127.0.0.1")
	for i, method := range []string{"INVITE", "MESSAGE", "REGISTER"} {
		for _, name := range []string{"alice", "nosuchuser"} {
			r := enumRequests(gw, "udp", name)[[]int{0, 1, 3}[i]]
			challenge := peer.do(r, 5*time.Second)
			if !strings.HasPrefix(challenge, "SIP/2.0 40") || wireHeader(challenge, "WWW-Authenticate")+wireHeader(challenge, "Proxy-Authenticate") == "" {
				t.Fatalf("%s as %s: %q, want a challenge", method, name, firstLine(challenge))
			}
			if res := peer.do(r, 1500*time.Millisecond, answerChallenge(t, challenge, r, name, "wrong-password")); res != "" {
				t.Errorf("%s as %s with wrong credentials: %q, want no answer", method, name, firstLine(res))
			}
		}
	}
	// A phone that knows its password is not affected.
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
}

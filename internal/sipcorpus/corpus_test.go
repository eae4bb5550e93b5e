package sipcorpus

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/gwtest"
)

// The corpus gateway's directory and config. Telephony is on (a buyer
// number); alice owns +15125550110 and has no phone registered, so an INVITE
// routed to her gets 480 at once (voicemail is off); bob registers in the
// REGISTER cases (${AUTH}). Requests from 127.0.0.2 are the trunk's; those
// from 127.0.0.3 are from nobody the gateway knows.
const (
	trunkIP     = "127.0.0.2"
	unknownIP   = "127.0.0.3"
	bobPassword = "bob-corpus-pw-1"

	team = `
settings:
  voicemail: false
  consent_prompt: "off"
  recording_enabled: false
  press_one_to_claim: false
  ring_timeout_seconds: 10
users:
  - {username: alice, name: Alice Smith, role: agent, sip_password: alice-corpus-pw-1}
  - {username: bob, name: Bob Jones, role: agent, sip_password: ` + bobPassword + `}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
  - {number: "+15125550110", kind: personal, owner: alice}
`
	// The trunk takes no outbound calls (its proxy is nobody); failed
	// digests must not block the sender's address for the next cases, and
	// the registered phones of the REGISTER cases get no keep-alive pings.
	gatewayConfig = `
trunks:
  - {name: carrier, proxy: "127.0.0.9:5060", outbound: false, inbound_addresses: [` + trunkIP + `]}
registrar:
  block_duration: 0s
  keepalive_interval: 0s
`
)

// Waits for delivery over loopback, never timing assertions: answerWait is
// how long an expected answer may take to arrive, quietWait how long the
// runner listens before it says that nothing came.
const (
	answerWait = 5 * time.Second
	quietWait  = 300 * time.Millisecond
)

// TestCorpus sends every message of testdata/ to one gateway over the
// transports its file names, checks the answer, and after each checks that
// the gateway still answers a valid OPTIONS.
func TestCorpus(t *testing.T) {
	cases, err := Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no corpus files")
	}
	g := gwtest.Start(t, gwtest.Options{ConfigYAML: gatewayConfig, Directory: team})
	for _, c := range cases {
		for _, tr := range []string{"udp", "tcp"} {
			if (tr == "udp" && !c.UDP) || (tr == "tcp" && !c.TCP) {
				continue
			}
			t.Run(c.Name+"/"+tr, func(t *testing.T) {
				if g.Exited() {
					t.Fatal("the gateway is not running any more")
				}
				runCase(t, g, c, tr)
				alive(t, g)
			})
		}
	}
}

// runCase sends one message and checks what comes back.
func runCase(t *testing.T, g *gwtest.Gateway, c *Case, transport string) {
	gw := g.SIPUDP
	if transport == "tcp" {
		gw = g.SIPTCP
	}
	ip := trunkIP
	if c.Unknown {
		ip = unknownIP
	}
	p := dial(t, transport, ip, gw)
	var alt *peer
	if c.AnswerAtAlt || strings.Contains(c.Template, "${ALT") {
		alt = dial(t, "udp", ip, gw)
	}
	v := Vars{
		GW: gw, Local: p.local, Transport: strings.ToUpper(transport),
		Branch: "z9hG4bK-" + token(), CallID: "corpus-" + token(), Tag: token(),
	}
	if alt != nil {
		v.Alt = alt.local
	}
	if c.Auth {
		v.Auth = challenge(t, p, gw)
	}
	msg, err := c.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.send(msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("%s: %s", c.Name, c.Why)
		}
	}()

	switch c.Expect {
	case "drop":
		for _, q := range []*peer{p, alt} {
			if q == nil {
				continue
			}
			if m, _ := q.next(quietWait); m != nil {
				t.Errorf("want no answer, got %q", firstLine(m))
			}
		}
		return
	case "pong":
		if got := p.raw(answerWait, 2); string(got) != "\r\n" {
			t.Errorf("want a CRLF keepalive answer, got %q", got)
		}
		return
	}

	at := p
	if c.AnswerAtAlt {
		at = alt
	}
	res, raw := final(t, at, answerWait)
	if res == nil {
		where := "at the sender " + p.local
		if c.AnswerAtAlt {
			where = "at ${ALT} " + alt.local
		}
		if m, _ := p.next(0); c.AnswerAtAlt && m != nil {
			where += fmt.Sprintf(" (the sender got %q instead)", firstLine(m))
		}
		t.Errorf("want %s, nothing arrived %s within %s", c.Expect, where, answerWait)
		return
	}
	defer finish(at, msg, res)
	if res.version != "SIP/2.0" {
		t.Errorf("answer in %q, want SIP/2.0: %q", res.version, firstLine(raw))
	}
	if res.code != c.Code() {
		t.Errorf("got %q%s, want %s%s", firstLine(raw), warned(res), c.Expect, withReason(c))
	} else if c.Reason != "" && !strings.EqualFold(res.reason, c.Reason) {
		t.Errorf("got %q%s, want reason %q", firstLine(raw), warned(res), c.Reason)
	}
	if c.Warning && len(res.header("warning")) == 0 {
		t.Errorf("%q carries no Warning saying what was wrong", firstLine(raw))
	}
	if c.Quiet {
		for {
			m, _ := at.next(quietWait)
			if m == nil {
				break
			}
			if !bytes.Equal(m, raw) { // a retransmission is not news
				t.Errorf("after the answer, also got %q", firstLine(m))
			}
		}
	}
}

// warned quotes the answer's Warning, for failure messages.
func warned(r *response) string {
	if w := r.header("warning"); len(w) > 0 {
		return fmt.Sprintf(" (Warning: %s)", strings.Join(w, ", "))
	}
	return ""
}

func withReason(c *Case) string {
	if c.Reason == "" {
		return ""
	}
	return " " + c.Reason
}

// alive checks the gateway still answers a plain OPTIONS from the trunk.
func alive(t *testing.T, g *gwtest.Gateway) {
	t.Helper()
	if g.Exited() {
		t.Fatal("the gateway exited")
	}
	p := dial(t, "udp", trunkIP, g.SIPUDP)
	id := "alive-" + token()
	msg := "OPTIONS sip:" + g.SIPUDP + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + p.local + ";branch=z9hG4bK-" + token() + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@" + trunkIP + ">;tag=" + token() + "\r\n" +
		"To: <sip:" + g.SIPUDP + ">\r\n" +
		"Call-ID: " + id + "\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
	if err := p.send([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	res, raw := final(t, p, answerWait)
	if res == nil {
		t.Fatalf("afterwards, a valid OPTIONS got no answer within %s", answerWait)
	}
	if res.code != 200 {
		t.Fatalf("afterwards, a valid OPTIONS got %q", firstLine(raw))
	}
}

// final reads until a final response arrives, skipping provisional ones.
func final(t *testing.T, p *peer, wait time.Duration) (*response, []byte) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m, err := p.next(time.Until(deadline))
		if m == nil {
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, errTimeout) {
				t.Logf("reading: %v", err)
			}
			return nil, nil
		}
		res, err := parseResponse(m)
		if err != nil {
			t.Errorf("unreadable answer %q: %v", m, err)
			return nil, nil
		}
		if res.code >= 200 {
			return res, m
		}
	}
}

// finish ends an INVITE transaction the corpus started: an ACK for a final
// answer (RFC 3261 17.1.1.3), and for a 2xx a BYE as well, so no call is
// left up. Best effort: nothing is checked.
func finish(p *peer, req []byte, res *response) {
	f := strings.Fields(string(firstLine(req)))
	if len(f) < 2 || f[0] != "INVITE" {
		return
	}
	cseq := strings.Fields(first(res.header("cseq")))
	if len(cseq) == 0 {
		return
	}
	head := func(method, via string, n string) string {
		return method + " " + f[1] + " SIP/2.0\r\n" +
			"Via: " + via + "\r\n" +
			"Max-Forwards: 70\r\n" +
			"From: " + first(res.header("from")) + "\r\n" +
			"To: " + first(res.header("to")) + "\r\n" +
			"Call-ID: " + first(res.header("call-id")) + "\r\n" +
			"CSeq: " + n + " " + method + "\r\n" +
			"Content-Length: 0\r\n\r\n"
	}
	if res.code >= 300 {
		_ = p.send([]byte(head("ACK", first(res.header("via")), cseq[0])))
		return
	}
	via := "SIP/2.0/" + p.transport + " " + p.local + ";branch=z9hG4bK-" + token()
	_ = p.send([]byte(head("ACK", via, cseq[0])))
	n, _ := strconv.Atoi(cseq[0])
	via = "SIP/2.0/" + p.transport + " " + p.local + ";branch=z9hG4bK-" + token()
	_ = p.send([]byte(head("BYE", via, strconv.Itoa(n+1))))
}

// challenge gets a digest challenge for bob from a REGISTER on p and
// returns what computes ${AUTH} from it.
func challenge(t *testing.T, p *peer, gw string) func(method, uri string) string {
	t.Helper()
	host, _, _ := strings.Cut(gw, ":")
	msg := "REGISTER sip:" + host + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + p.transport + " " + p.local + ";branch=z9hG4bK-" + token() + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:bob@" + host + ">;tag=" + token() + "\r\n" +
		"To: <sip:bob@" + host + ">\r\n" +
		"Call-ID: prime-" + token() + "\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"Content-Length: 0\r\n\r\n"
	if err := p.send([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	res, raw := final(t, p, answerWait)
	if res == nil || res.code != 401 {
		t.Fatalf("a REGISTER for bob got %q, want a 401 challenge", firstLine(raw))
	}
	var params map[string]string
	for _, h := range res.header("www-authenticate") {
		scheme, rest, _ := strings.Cut(h, " ")
		ps := authParams(rest)
		if strings.EqualFold(scheme, "Digest") && (ps["algorithm"] == "" || strings.EqualFold(ps["algorithm"], "MD5")) {
			params = ps
			break
		}
	}
	if params == nil {
		t.Fatalf("no MD5 digest challenge in %q", raw)
	}
	return func(method, uri string) string {
		h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
		cnonce := token()
		ha1 := h("bob:" + params["realm"] + ":" + bobPassword)
		ha2 := h(method + ":" + uri)
		a := fmt.Sprintf(`Digest username="bob", realm=%q, nonce=%q, uri=%q, algorithm=MD5`,
			params["realm"], params["nonce"], uri)
		if strings.Contains(params["qop"], "auth") {
			a += fmt.Sprintf(`, qop=auth, nc=00000001, cnonce=%q, response=%q`, cnonce,
				h(ha1+":"+params["nonce"]+":00000001:"+cnonce+":auth:"+ha2))
		} else {
			a += fmt.Sprintf(`, response=%q`, h(ha1+":"+params["nonce"]+":"+ha2))
		}
		if o, ok := params["opaque"]; ok {
			a += fmt.Sprintf(`, opaque=%q`, o)
		}
		return a
	}
}

// authParams reads the comma-separated name=value list of a challenge.
func authParams(s string) map[string]string {
	ps := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		rest = strings.TrimSpace(rest)
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				break
			}
			val, rest = rest[1:end+1], rest[end+2:]
		} else {
			val, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		ps[name] = strings.TrimSpace(val)
		_, s, _ = strings.Cut(rest, ",")
		s = strings.TrimSpace(s)
	}
	return ps
}

// peer is the corpus's end of one socket: a UDP socket, or a TCP
// connection to the gateway.
type peer struct {
	transport string // UDP or TCP
	local     string
	udp       *net.UDPConn
	gw        *net.UDPAddr
	tcp       net.Conn
	r         *bufio.Reader
}

var errTimeout = errors.New("timeout")

// dial opens a socket on ip (port chosen by the system) towards gw.
func dial(t *testing.T, transport, ip, gw string) *peer {
	t.Helper()
	p := &peer{transport: strings.ToUpper(transport)}
	if transport == "udp" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			t.Fatal(err)
		}
		p.udp, p.local = c, c.LocalAddr().String()
		if p.gw, err = net.ResolveUDPAddr("udp", gw); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return p
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: answerWait}
	c, err := d.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	p.tcp, p.local, p.r = c, c.LocalAddr().String(), bufio.NewReaderSize(c, 1<<16)
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *peer) send(b []byte) error {
	if p.udp != nil {
		_, err := p.udp.WriteToUDP(b, p.gw)
		return err
	}
	_ = p.tcp.SetWriteDeadline(time.Now().Add(answerWait))
	_, err := p.tcp.Write(b)
	return err
}

// next returns the next message that arrives within wait (nil if none):
// a datagram, or one message framed from the stream by its Content-Length.
func (p *peer) next(wait time.Duration) ([]byte, error) {
	if wait <= 0 {
		wait = time.Millisecond
	}
	deadline := time.Now().Add(wait)
	if p.udp != nil {
		_ = p.udp.SetReadDeadline(deadline)
		buf := make([]byte, 1<<16)
		n, _, err := p.udp.ReadFromUDP(buf)
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	_ = p.tcp.SetReadDeadline(deadline)
	var msg bytes.Buffer
	length := 0
	for {
		line, err := p.r.ReadString('\n')
		msg.WriteString(line)
		if err != nil {
			if msg.Len() > 0 {
				return msg.Bytes(), err
			}
			return nil, err
		}
		if line == "\r\n" || line == "\n" {
			if msg.Len() == len(line) {
				msg.Reset() // keepalive CRLFs between messages
				continue
			}
			break
		}
		name, val, ok := strings.Cut(line, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); ok && (n == "content-length" || n == "l") {
			length, _ = strconv.Atoi(strings.TrimSpace(val))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return msg.Bytes(), err
	}
	msg.Write(body)
	return msg.Bytes(), nil
}

// raw reads up to n bytes as they come, within wait.
func (p *peer) raw(wait time.Duration, n int) []byte {
	var got []byte
	deadline := time.Now().Add(wait)
	for len(got) < n {
		var b []byte
		var err error
		if p.udp != nil {
			_ = p.udp.SetReadDeadline(deadline)
			buf := make([]byte, 1<<16)
			var k int
			k, _, err = p.udp.ReadFromUDP(buf)
			b = buf[:k]
		} else {
			_ = p.tcp.SetReadDeadline(deadline)
			var c byte
			c, err = p.r.ReadByte()
			if err == nil {
				b = []byte{c}
			}
		}
		got = append(got, b...)
		if err != nil {
			break
		}
	}
	return got
}

// response is a SIP response as far as the corpus reads it.
type response struct {
	version, reason string
	code            int
	headers         map[string][]string // lower-case long names
}

// compact maps the one-letter header names (RFC 3261 7.3.3) the corpus reads.
var compact = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length", "m": "contact"}

func parseResponse(b []byte) (*response, error) {
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	version, rest, ok := strings.Cut(lines[0], " ")
	if !ok || !strings.HasPrefix(strings.ToUpper(version), "SIP/") {
		return nil, errors.New("not a response")
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil {
		return nil, fmt.Errorf("status code %q", code)
	}
	r := &response{version: version, code: n, reason: reason, headers: map[string][]string{}}
	for _, l := range lines[1:] {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if long, ok := compact[name]; ok {
			name = long
		}
		r.headers[name] = append(r.headers[name], strings.TrimSpace(val))
	}
	return r, nil
}

func (r *response) header(name string) []string { return r.headers[name] }

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// token is a short random string for branches, tags and Call-IDs.
func token() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package intake

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// msg turns LF-separated text into a message with CRLFs.
func msg(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const okInvite = `INVITE sip:+15125550100@gw.example SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport
Max-Forwards: 70
From: "Jane" <sip:+15125550111@192.0.2.10>;tag=a1
To: <sip:+15125550100@gw.example>
Call-ID: c1@192.0.2.10
CSeq: 1 INVITE
Contact: <sip:jane@192.0.2.10:5070>
Content-Type: application/sdp
Content-Length: 4

v=0
`

func TestValidMessagesPassInPlainForm(t *testing.T) {
	c := NewChecker(Limits{}, "Teamline")
	tests := []struct {
		name string
		in   string
		want []string // lines the plain form must hold
	}{
		{"plain INVITE", okInvite, []string{"INVITE sip:+15125550100@gw.example SIP/2.0", "Content-Length: 4", "CSeq: 1 INVITE"}},
		{"folded Via keeps its port", strings.Replace(okInvite, "Via: SIP/2.0/UDP 192.0.2.10:5070;", "Via: SIP/2.0/UDP 192.0.2.10\n  :5070 ;", 1),
			[]string{"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport"}},
		{"SWS around separators", strings.Replace(okInvite, "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport", "Via : SIP / 2.0 / udp 192.0.2.10 : 5070 ; branch = z9hG4bK-1 ; rport", 1),
			[]string{"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport"}},
		{"lower-case version", strings.Replace(okInvite, " SIP/2.0\n", " sip/2.0\n", 1), []string{"INVITE sip:+15125550100@gw.example SIP/2.0"}},
		{"compact forms", strings.NewReplacer("From:", "f:", "To:", "t:", "Call-ID:", "i:", "Content-Length:", "l:", "Contact:", "m:", "Content-Type:", "c:").Replace(okInvite),
			[]string{"From: \"Jane\" <sip:+15125550111@192.0.2.10>;tag=a1", "Call-ID: c1@192.0.2.10"}},
		{"leading CRLFs", "\n\n" + okInvite, []string{"INVITE sip:+15125550100@gw.example SIP/2.0"}},
		{"Via list split", strings.Replace(okInvite, "rport\n", "rport , SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK-0\n", 1),
			[]string{"Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport", "Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK-0"}},
		{"addr-spec From", strings.Replace(okInvite, `"Jane" <sip:+15125550111@192.0.2.10>;tag=a1`, "sip:+15125550111@192.0.2.10;tag=a1", 1),
			[]string{"From: <sip:+15125550111@192.0.2.10>;tag=a1"}},
		{"token display name", strings.Replace(okInvite, `"Jane" <sip:`, "Jane  Doe<sip:", 1), []string{"From: Jane Doe <sip:+15125550111@192.0.2.10>;tag=a1"}},
		{"escaped user", strings.Replace(okInvite, "INVITE sip:+15125550100@", "INVITE sip:%2B1512555%30100@", 1), []string{"INVITE sip:%2B1512555%30100@gw.example SIP/2.0"}},
		{"UDP trailing octets discarded", okInvite + "garbage after the body", []string{"Content-Length: 4"}},
		{"semicolon in user", strings.Replace(okInvite, "INVITE sip:+15125550100@", "INVITE sip:user;par=u%40example.net@", 1), []string{"INVITE sip:user;par=u%40example.net@gw.example SIP/2.0"}},
		{"tel URI", strings.Replace(okInvite, "INVITE sip:+15125550100@gw.example", "INVITE tel:+1-512-555-0100", 1), []string{"INVITE tel:+1-512-555-0100 SIP/2.0"}},
		{"response with empty reason", "SIP/2.0 100 \nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
			[]string{"SIP/2.0 100 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rej := c.Check(msg(tt.in), netip.AddrPort{}, true, nil)
			if rej != nil {
				t.Fatalf("refused: %d %s (%s)", rej.Code, rej.Reason, rej.Detail)
			}
			got := string(out)
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\r\n") {
					t.Errorf("plain form lacks %q:\n%s", w, got)
				}
			}
			// The SIP stack behind must read it.
			if _, err := gosip.ParseMessage(out); err != nil {
				t.Errorf("the plain form does not parse: %v\n%s", err, got)
			}
		})
	}
}

func TestInvalidRequestsAreAnswered(t *testing.T) {
	c := NewChecker(Limits{MaxURI: 64}, "Teamline")
	tests := []struct {
		name   string
		in     string
		code   int
		reason string
	}{
		{"CSeq method", strings.Replace(okInvite, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1), 400, "CSeq Method Mismatch"},
		{"two Call-IDs", strings.Replace(okInvite, "Call-ID: c1@192.0.2.10\n", "Call-ID: c1@192.0.2.10\ni: c2\n", 1), 400, "Duplicate Call-ID"},
		{"two CSeqs", strings.Replace(okInvite, "CSeq: 1 INVITE\n", "CSeq: 1 INVITE\nCSeq: 2 INVITE\n", 1), 400, "Duplicate CSeq"},
		{"two Content-Lengths", strings.Replace(okInvite, "Content-Length: 4\n", "Content-Length: 4\nl: 5\n", 1), 400, "Duplicate Content-Length"},
		{"NUL in Call-ID", strings.Replace(okInvite, "Call-ID: c1@", "Call-ID: c\x001@", 1), 400, "Control Character"},
		{"body without type", strings.Replace(okInvite, "Content-Type: application/sdp\n", "", 1), 400, "Missing Content-Type"},
		{"SIP/7.0", strings.Replace(okInvite, " SIP/2.0\n", " SIP/7.0\n", 1), 505, "Version Not Supported"},
		{"no Call-ID", strings.Replace(okInvite, "Call-ID: c1@192.0.2.10\n", "", 1), 400, "Missing Call-ID"},
		{"unknown scheme", strings.Replace(okInvite, "INVITE sip:+15125550100@gw.example", "INVITE isbn:2983792873", 1), 416, "Unsupported URI Scheme"},
		{"long URI", strings.Replace(okInvite, "+15125550100@gw", strings.Repeat("1", 200)+"@gw", 1), 414, "Request-URI Too Long"},
		{"two spaces", strings.Replace(okInvite, "INVITE sip:", "INVITE  sip:", 1), 400, "Bad Request Line"},
		{"trailing space", strings.Replace(okInvite, " SIP/2.0\n", " SIP/2.0 \n", 1), 400, "Bad Request Line"},
		{"<> around URI", strings.Replace(okInvite, "INVITE sip:+15125550100@gw.example", "INVITE <sip:+15125550100@gw.example>", 1), 400, "Bad Request Line"},
		{"negative Content-Length", strings.Replace(okInvite, "Content-Length: 4", "Content-Length: -4", 1), 400, "Bad Content-Length"},
		{"Content-Length beyond the body", strings.Replace(okInvite, "Content-Length: 4", "Content-Length: 9999", 1), 400, "Body Shorter Than Content-Length"},
		{"CSeq too big", strings.Replace(okInvite, "CSeq: 1 INVITE", "CSeq: 36893488147419103232 INVITE", 1), 400, "Bad CSeq"},
		{"Max-Forwards too big", strings.Replace(okInvite, "Max-Forwards: 70", "Max-Forwards: 300", 1), 400, "Bad Max-Forwards"},
		{"unterminated display name", strings.Replace(okInvite, `"Jane" <sip:`, `"Jane <sip:`, 1), 400, "Bad From"},
		{"non-token display name", strings.Replace(okInvite, `"Jane" <sip:`, `Doe, Jane <sip:`, 1), 400, "Bad From"},
		{"spaces in addr-spec", strings.Replace(okInvite, "To: <sip:+15125550100@gw.example>", "To: < sip:+15125550100@gw.example >", 1), 400, "Bad To"},
		{"stray separators", strings.Replace(okInvite, "To: <sip:+15125550100@gw.example>", "To: <sip:+15125550100@gw.example>;tag=x;;,;", 1), 400, "Bad To"},
		{"header without colon", strings.Replace(okInvite, "Max-Forwards: 70", "Max-Forwards 70", 1), 400, "Bad Header"},
		{"escaped headers in R-URI", strings.Replace(okInvite, "@gw.example SIP", "@gw.example?Route=%3Csip:example.com%3E SIP", 1), 400, "Bad Request-URI"},
		{"method in lower case", strings.NewReplacer("INVITE sip:", "invite sip:", "CSeq: 1 INVITE", "CSeq: 1 invite").Replace(okInvite), 501, "Not Implemented"},
		{"no start line at all", strings.Replace(okInvite, "INVITE sip:+15125550100@gw.example SIP/2.0\n", "GARBAGE\n", 1), 400, "Bad Request"},
		{"unbracketed IPv6 R-URI", strings.Replace(okInvite, "sip:+15125550100@gw.example SIP", "sip:+15125550100@2001:db8::10 SIP", 1), 400, "Bad Request-URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rej := c.Check(msg(tt.in), netip.AddrPort{}, true, nil)
			if rej == nil {
				t.Fatalf("passed:\n%s", out)
			}
			if rej.Code != tt.code || rej.Reason != tt.reason {
				t.Fatalf("refused %d %s (%s), want %d %s", rej.Code, rej.Reason, rej.Detail, tt.code, tt.reason)
			}
			if rej.Reply == nil {
				t.Fatal("no reply")
			}
			// The faulty header is echoed as it came (the sender matches
			// its transaction on Via and CSeq), so read the reply as text.
			reply := string(rej.Reply)
			if want := fmt.Sprintf("SIP/2.0 %d %s\r\n", tt.code, tt.reason); !strings.HasPrefix(reply, want) {
				t.Fatalf("reply %q, want it to start %q", reply, want)
			}
			if !strings.Contains(reply, "\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport\r\n") {
				t.Errorf("reply lost the top Via: %q", reply)
			}
			if !regexp.MustCompile(`\r\nTo: [^\r]*;tag=\w+`).MatchString(reply) {
				t.Errorf("reply without a To tag: %q", reply)
			}
			if !strings.Contains(reply, "\r\nWarning: 399 teamline \"") || !strings.HasSuffix(reply, "\r\nContent-Length: 0\r\n\r\n") {
				t.Errorf("reply without Warning or Content-Length: %q", reply)
			}
			if !rej.RPort || rej.ViaPort != 5070 {
				t.Errorf("reply goes to rport %v port %d", rej.RPort, rej.ViaPort)
			}
		})
	}
}

func TestUnanswerable(t *testing.T) {
	c := NewChecker(Limits{}, "Teamline")
	for name, in := range map[string]string{
		"no Via":         strings.Replace(okInvite, "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport\n", "", 1),
		"bad ACK":        strings.NewReplacer("INVITE sip:", "ACK sip:", "CSeq: 1 INVITE", "CSeq: 1 INVITE").Replace(okInvite),
		"bad response":   "SIP/2.0 4294967301 better not break the receiver\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
		"not SIP at all": "GET / HTTP/1.1\nHost: x\n\n",
	} {
		_, rej := c.Check(msg(in), netip.AddrPort{}, true, nil)
		if rej == nil || rej.Reply != nil || rej.Code != 0 {
			t.Errorf("%s: %+v, want dropped", name, rej)
		}
	}
}

func TestWarning(t *testing.T) {
	tests := []struct{ text, want string }{
		{"telephony disabled: no buyer role number", `399 teamline "telephony disabled: no buyer role number"`},
		{`say "hi" \ bye`, `399 teamline "say \"hi\" \\ bye"`},
		{"line\r\nInjected: header", `399 teamline "line  Injected: header"`},
		{strings.Repeat("x", 300), `399 teamline "` + strings.Repeat("x", maxWarning) + `..."`},
	}
	for _, tt := range tests {
		if got := Warning(tt.text); got != tt.want {
			t.Errorf("Warning(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// RFC 3261 18.2.1 and RFC 3581 4: the reply's top Via gets received= when
// the request came from elsewhere than its sent-by, and rport's value.
func TestReplyStampsReceivedAndRport(t *testing.T) {
	c := NewChecker(Limits{}, "Teamline")
	in := strings.Replace(okInvite, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1)
	in = strings.Replace(in, "rport\n", "rport , SIP/2.0/UDP proxy.example:5060;branch=z9hG4bK-0\n", 1)
	_, rej := c.Check(msg(in), netip.MustParseAddrPort("198.51.100.7:40123"), true, nil)
	want := "\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport=40123;received=198.51.100.7, SIP/2.0/UDP proxy.example:5060;branch=z9hG4bK-0\r\n"
	if !strings.Contains(string(rej.Reply), want) {
		t.Errorf("reply %q lacks %q", rej.Reply, want)
	}
	_, rej = c.Check(msg(strings.Replace(okInvite, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1)), netip.MustParseAddrPort("192.0.2.10:5070"), true, nil)
	if want := "\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1;rport=5070\r\n"; !strings.Contains(string(rej.Reply), want) {
		t.Errorf("reply %q lacks %q", rej.Reply, want)
	}
}

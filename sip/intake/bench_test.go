package intake

import (
	"net/netip"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// The intake's cost per message: go test -run '^$' -bench . -benchmem ./sip/intake/
// (figures in docs/PERFORMANCE.md).

// benchInvite is an INVITE as a carrier sends it, SDP included (about 900 bytes).
var benchInvite = msg(strings.Replace(okInvite, "Content-Length: 4\n\nv=0\n", `Supported: timer, replaces
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO
User-Agent: carrier-sbc/4.2
Content-Length: 222

v=0
o=- 1700000000 1700000000 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 40000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
`, 1))

func BenchmarkCheckInvite(b *testing.B) {
	c := NewChecker(Limits{}, "Teamline")
	dst := make([]byte, 0, 4096)
	if _, rej := c.Check(benchInvite, netip.AddrPort{}, true, dst); rej != nil {
		b.Fatal(rej.Detail)
	}
	b.SetBytes(int64(len(benchInvite)))
	b.ReportAllocs()
	for b.Loop() {
		c.Check(benchInvite, netip.AddrPort{}, true, dst)
	}
}

func BenchmarkCheckRefused(b *testing.B) {
	c := NewChecker(Limits{}, "Teamline")
	bad := []byte(strings.Replace(string(benchInvite), "CSeq: 1 INVITE", "CSeq: 1 INFO", 1))
	b.ReportAllocs()
	for b.Loop() {
		c.Check(bad, netip.AddrPort{}, true, nil)
	}
}

func BenchmarkStreamInvite(b *testing.B) {
	c := NewChecker(Limits{}, "Teamline")
	s := c.NewStream(netip.AddrPort{})
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(benchInvite)))
	b.ReportAllocs()
	for b.Loop() {
		s.Feed(benchInvite)
		if f, ok := s.Next(dst); !ok || f.Msg == nil {
			b.Fatal("not framed")
		}
	}
}

// BenchmarkSIPStackParse is what the SIP stack behind spends reading the
// same INVITE, for scale.
func BenchmarkSIPStackParse(b *testing.B) {
	b.SetBytes(int64(len(benchInvite)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gosip.ParseMessage(benchInvite); err != nil {
			b.Fatal(err)
		}
	}
}

package intake

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// FuzzCheck: whatever the bytes, Check does not panic; a message it passes
// passes again unchanged (the plain form is a fixed point), and the SIP
// stack behind reads it; a refusal's reply is a response the stack reads.
// go test -fuzz FuzzCheck ./sip/intake/
func FuzzCheck(f *testing.F) {
	f.Add(msg(okInvite))
	f.Add(msg(strings.Replace(okInvite, "Via: SIP/2.0/UDP 192.0.2.10:5070;", "v: SIP / 2.0 / UDP 192.0.2.10\n :5070 ;", 1)))
	f.Add(msg("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\nf: <sip:a@b>;tag=1\nt: <sip:c@d>\ni: x\nCSeq: 1 INVITE\n\n"))
	f.Add(msg(strings.Replace(okInvite, "CSeq: 1 INVITE", "CSeq: 1 INFO", 1)))
	c := NewChecker(Limits{}, "Teamline")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, datagram := range []bool{true, false} {
			out, rej := c.Check(data, netip.MustParseAddrPort("198.51.100.7:40123"), datagram, nil)
			if rej != nil {
				if out != nil {
					t.Fatal("refused and passed")
				}
				if rej.Reply != nil {
					// The reply echoes the request's headers as they came,
					// malformed ones too; what must hold is its own frame:
					// one status line, one Warning, no body, CRLFs.
					r := string(rej.Reply)
					if !strings.HasPrefix(r, "SIP/2.0 "+strconv.Itoa(rej.Code)+" ") || !strings.HasSuffix(r, "\r\nContent-Length: 0\r\n\r\n") ||
						strings.Count(r, "\r\nWarning: 399 teamline \"") != 1 || strings.Count(r, "\r\n\r\n") != 1 || strings.Contains(strings.ReplaceAll(r, "\r\n", ""), "\n") {
						t.Fatalf("malformed reply %q", r)
					}
					if rej.Code < 400 || rej.Code > 599 {
						t.Fatalf("refusal answered %d", rej.Code)
					}
				}
				continue
			}
			if out == nil {
				continue
			}
			again, rej2 := c.Check(out, netip.AddrPort{}, datagram, nil)
			if rej2 != nil {
				t.Fatalf("plain form refused (%s):\n%q\nfrom %q", rej2.Detail, out, data)
			}
			if !bytes.Equal(again, out) {
				t.Fatalf("plain form not stable:\n%q\n%q", out, again)
			}
			if _, err := gosip.ParseMessage(out); err != nil {
				t.Fatalf("plain form does not parse: %v\n%q\nfrom %q", err, out, data)
			}
		}
	})
}

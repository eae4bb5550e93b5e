package media

import (
	"net/netip"
	"testing"
)

// FuzzParseSDP: ParseSDP never panics, and whatever it accepts can be
// offered and answered from without error.
func FuzzParseSDP(f *testing.F) {
	for _, s := range [][]byte{
		offerFrom("m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20"),
		offerFrom("m=video 5000 RTP/AVP 96", "m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7", "a=rtcp:5007", "a=sendonly"),
		sdpBody("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
		sdpBody("t=0 0", "m=audio 0 RTP/AVP 0"),
		offerFrom("m=audio 4000 RTP/AVP 18"),
		[]byte("v=0\r\n"),
	} {
		f.Add(s)
	}
	// Every fuzz worker is a process of its own with its own engine; a wide
	// range lets each find a free pair.
	e, err := NewEngine(nil, Config{BindIP: netip.MustParseAddr("127.0.0.1"), PortMin: 30000, PortMax: 30999})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	b := newTestBridge(f, e)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			return
		}
		if out := b.Offer(SideB, gwIP, d); len(out) == 0 {
			t.Fatal("empty offer")
		} else if _, err := ParseSDP(out); err != nil {
			t.Fatalf("our offer does not parse: %v\n%s", err, out)
		}
		out, err := b.Answer(SideA, gwIP, d)
		if err != nil {
			if firstG711OK(d) || d.Port == 0 {
				t.Fatalf("answer: %v", err)
			}
			return
		}
		if _, err := ParseSDP(out); err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, out)
		}
	})
}

func firstG711OK(d Description) bool {
	_, ok := firstG711(d.Codecs)
	return ok
}

package media

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pion/sdp/v3"
)

var testPortBase atomic.Int32

// newTestEngine makes an engine on loopback with a port range of its own,
// so tests do not see each other's quarantine. The ranges lie below the
// kernel's ephemeral ports (32768-60999 on Linux), where the test peers'
// sockets land.
// testGoroutineRelay makes newTestEngine's engines use the goroutine relay
// (TestGoroutineRelay sets it while it runs the relay tests again).
var testGoroutineRelay bool

func newTestEngine(t testing.TB, pairs int, cfg Config) *Engine {
	t.Helper()
	// 21000-30000: below the kernel's ephemeral ports (32768 up), whose
	// sockets in other tests (phones, sipgo clients) may still be sent to
	// just after they close, and clear of the sip tests' gateways (31000-
	// 32099), whose phones may still send to a port just released, when the
	// packages' tests run side by side. Long benchmark runs wrap around.
	base := 21000 + int(testPortBase.Add(int32(pairs*2+2)))%9000
	cfg.BindIP = netip.MustParseAddr("127.0.0.1")
	cfg.PortMin, cfg.PortMax = base, base+pairs*2-1
	if cfg.Quarantine == 0 {
		cfg.Quarantine = 50e6 // 50ms
	}
	cfg.GoroutineRelay = cfg.GoroutineRelay || testGoroutineRelay
	e, err := NewEngine(slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newTestBridge(t testing.TB, e *Engine, opts ...BridgeOption) *Bridge {
	t.Helper()
	b, err := e.NewBridge(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func mustParse(t testing.TB, body []byte) Description {
	t.Helper()
	d, err := ParseSDP(body)
	if err != nil {
		t.Fatalf("ParseSDP(%q): %v", body, err)
	}
	return d
}

func origin(t testing.TB, body []byte) sdp.Origin {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		t.Fatal(err)
	}
	return sd.Origin
}

var (
	gwIP    = netip.MustParseAddr("203.0.113.5")
	phoneIP = netip.MustParseAddr("192.0.2.10")
)

func offerFrom(lines ...string) []byte {
	return sdpBody(append([]string{"c=IN IP4 192.0.2.10", "t=0 0"}, lines...)...)
}

func TestOffer(t *testing.T) {
	e := newTestEngine(t, 64, Config{})
	tests := []struct {
		name      string
		basis     []byte
		wantPTs   []uint8
		wantTE    uint8
		wantDir   Direction
		wantPtime int
	}{
		{"A prefers PCMA", offerFrom("m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:101 telephone-event/8000"), []uint8{8, 0, 101}, 101, Sendrecv, 0},
		{"A offers PCMU only", offerFrom("m=audio 4000 RTP/AVP 0"), []uint8{0, 8, 101}, 101, Sendrecv, 0},
		{"A offers neither law", offerFrom("m=audio 4000 RTP/AVP 18 9"), []uint8{0, 8, 101}, 101, Sendrecv, 0},
		{"A's telephone-event type is its own", offerFrom("m=audio 4000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000"), []uint8{0, 8, 101}, 101, Sendrecv, 0},
		{"sendonly mirrored", offerFrom("m=audio 4000 RTP/AVP 0", "a=sendonly"), []uint8{0, 8, 101}, 101, Sendonly, 0},
		{"recvonly mirrored", offerFrom("m=audio 4000 RTP/AVP 0", "a=recvonly"), []uint8{0, 8, 101}, 101, Recvonly, 0},
		{"inactive mirrored", offerFrom("m=audio 4000 RTP/AVP 0", "a=inactive"), []uint8{0, 8, 101}, 101, Inactive, 0},
		{"0.0.0.0 hold becomes sendonly", sdpBody("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"), []uint8{0, 8, 101}, 101, Sendonly, 0},
		{"ptime passed on", offerFrom("m=audio 4000 RTP/AVP 8", "a=ptime:30"), []uint8{8, 0, 101}, 101, Sendrecv, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBridge(t, e)
			out := b.Offer(SideB, gwIP, mustParse(t, tt.basis))
			got := mustParse(t, out)
			var pts []uint8
			for _, c := range got.Codecs {
				pts = append(pts, c.PT)
			}
			if !reflect.DeepEqual(pts, tt.wantPTs) {
				t.Errorf("PTs = %v, want %v\n%s", pts, tt.wantPTs, out)
			}
			if got.TelephoneEvent != tt.wantTE || got.Direction != tt.wantDir || got.Ptime != tt.wantPtime {
				t.Errorf("te=%d dir=%v ptime=%d, want %d %v %d\n%s", got.TelephoneEvent, got.Direction, got.Ptime, tt.wantTE, tt.wantDir, tt.wantPtime, out)
			}
			if got.Addr != gwIP || got.Port != b.Local(SideB).Port() {
				t.Errorf("c=/m= %v:%d, want %v:%d", got.Addr, got.Port, gwIP, b.Local(SideB).Port())
			}
			if !strings.Contains(string(out), "a=fmtp:101 0-16\r\n") || !strings.Contains(string(out), "s=Teamline\r\n") || !strings.Contains(string(out), "t=0 0\r\n") {
				t.Errorf("offer lacks fmtp, s= or t=:\n%s", out)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	e := newTestEngine(t, 64, Config{})
	bAnswer := func(lines ...string) []byte { // B's answer to our offer
		return sdpBody(append([]string{"c=IN IP4 198.51.100.20", "t=0 0"}, lines...)...)
	}
	tests := []struct {
		name    string
		bSDP    []byte // what B answered before A gets its answer; nil = nothing yet
		aOffer  []byte
		wantPTs []uint8
		wantDir Direction
		err     error
	}{
		{"same law as B, A's PT numbers kept", bAnswer("m=audio 6000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000"),
			offerFrom("m=audio 4000 RTP/AVP 0 8 96", "a=rtpmap:96 telephone-event/8000"), []uint8{8, 96}, Sendrecv, nil},
		{"A lacks B's law: transcode to A's first", bAnswer("m=audio 6000 RTP/AVP 8"),
			offerFrom("m=audio 4000 RTP/AVP 18 0"), []uint8{0}, Sendrecv, nil},
		{"B unknown yet: A's first G.711", nil,
			offerFrom("m=audio 4000 RTP/AVP 8 0"), []uint8{8}, Sendrecv, nil},
		{"dynamic PCMU number kept", nil,
			offerFrom("m=audio 4000 RTP/AVP 110", "a=rtpmap:110 PCMU/8000"), []uint8{110}, Sendrecv, nil},
		{"no G.711", nil, offerFrom("m=audio 4000 RTP/AVP 18 9"), nil, Sendrecv, ErrNoCommonCodec},
		{"sendonly -> recvonly", nil, offerFrom("m=audio 4000 RTP/AVP 0", "a=sendonly"), []uint8{0}, Recvonly, nil},
		{"recvonly -> sendonly", nil, offerFrom("m=audio 4000 RTP/AVP 0", "a=recvonly"), []uint8{0}, Sendonly, nil},
		{"inactive -> inactive", nil, offerFrom("m=audio 4000 RTP/AVP 0", "a=inactive"), []uint8{0}, Inactive, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBridge(t, e)
			if tt.bSDP != nil {
				if err := b.SetRemote(SideB, mustParse(t, tt.bSDP)); err != nil {
					t.Fatal(err)
				}
			}
			out, err := b.Answer(SideA, gwIP, mustParse(t, tt.aOffer))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := mustParse(t, out)
			var pts []uint8
			for _, c := range got.Codecs {
				pts = append(pts, c.PT)
			}
			if !reflect.DeepEqual(pts, tt.wantPTs) || got.Direction != tt.wantDir {
				t.Errorf("PTs %v dir %v, want %v %v\n%s", pts, got.Direction, tt.wantPTs, tt.wantDir, out)
			}
			if got.Port != b.Local(SideA).Port() || got.Addr != gwIP {
				t.Errorf("answer at %v:%d", got.Addr, got.Port)
			}
			if st := b.Stats(SideA); st.Remote != netip.AddrPortFrom(phoneIP, 4000) || st.Codec != mustParse(t, out).Codecs[0].Name {
				t.Errorf("A recorded as %v %q", st.Remote, st.Codec)
			}
		})
	}
}

// An answer has the offer's m= lines in the offer's order; the ones we do
// not take are rejected with port 0 (RFC 3264 6).
func TestAnswerRejectsOtherStreams(t *testing.T) {
	e := newTestEngine(t, 4, Config{})
	b := newTestBridge(t, e)
	offer := offerFrom("m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 4000 RTP/AVPF 0")
	out, err := b.Answer(SideA, gwIP, mustParse(t, offer))
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(out); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 2 {
		t.Fatalf("answer has %d m= lines:\n%s", len(sd.MediaDescriptions), out)
	}
	if m := sd.MediaDescriptions[0].MediaName; m.Media != "video" || m.Port.Value != 0 {
		t.Errorf("first m= line %v, want rejected video", m)
	}
	if m := sd.MediaDescriptions[1].MediaName; m.Media != "audio" || m.Port.Value != int(b.Local(SideA).Port()) || strings.Join(m.Protos, "/") != "RTP/AVPF" {
		t.Errorf("second m= line %v", m)
	}
}

func TestSDPVersions(t *testing.T) {
	e := newTestEngine(t, 4, Config{})
	b := newTestBridge(t, e)
	aOffer := mustParse(t, offerFrom("m=audio 4000 RTP/AVP 0 8"))
	o1 := origin(t, b.Offer(SideB, gwIP, aOffer))
	a1, err := b.Answer(SideA, gwIP, aOffer)
	if err != nil {
		t.Fatal(err)
	}
	o2 := origin(t, b.Offer(SideB, gwIP, aOffer)) // a re-INVITE toward B
	oa := origin(t, a1)
	a2, err := b.Answer(SideA, gwIP, aOffer)
	if err != nil {
		t.Fatal(err)
	}
	ob := origin(t, a2)
	if o2.SessionID != o1.SessionID || o2.SessionVersion != o1.SessionVersion+1 {
		t.Errorf("B: %d/%d then %d/%d", o1.SessionID, o1.SessionVersion, o2.SessionID, o2.SessionVersion)
	}
	if ob.SessionID != oa.SessionID || ob.SessionVersion != oa.SessionVersion+1 {
		t.Errorf("A: %d/%d then %d/%d", oa.SessionID, oa.SessionVersion, ob.SessionID, ob.SessionVersion)
	}
	if oa.SessionID == o1.SessionID {
		t.Errorf("both sides got session id %d", oa.SessionID)
	}
	if o1.UnicastAddress != gwIP.String() {
		t.Errorf("o= address %s", o1.UnicastAddress)
	}
}

// The telephone-event type we offer a side stays the same for the whole
// session, and follows what the side answered with (RFC 3264 8.3.2).
func TestOfferKeepsTelephoneEventPT(t *testing.T) {
	e := newTestEngine(t, 4, Config{})
	b := newTestBridge(t, e)
	basis := mustParse(t, offerFrom("m=audio 4000 RTP/AVP 0"))
	if got := mustParse(t, b.Offer(SideB, gwIP, basis)).TelephoneEvent; got != 101 {
		t.Fatalf("first offer TE %d", got)
	}
	// B answers with 100 for telephone-event (it should not, but some do).
	if err := b.SetRemote(SideB, mustParse(t, sdpBody("c=IN IP4 198.51.100.20", "t=0 0", "m=audio 6000 RTP/AVP 0 100", "a=rtpmap:100 telephone-event/8000"))); err != nil {
		t.Fatal(err)
	}
	if got := mustParse(t, b.Offer(SideB, gwIP, basis)).TelephoneEvent; got != 100 {
		t.Errorf("re-offer TE %d, want B's 100", got)
	}
	// A side that uses 101 for something else gets another number.
	if err := b.SetRemote(SideA, mustParse(t, offerFrom("m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 G726-32/8000"))); err != nil {
		t.Fatal(err)
	}
	if got := mustParse(t, b.Offer(SideA, gwIP, basis)).TelephoneEvent; got == 101 || got < 96 {
		t.Errorf("offer to A uses TE %d", got)
	}
}

func TestSetRemoteNoCodec(t *testing.T) {
	e := newTestEngine(t, 4, Config{})
	b := newTestBridge(t, e)
	err := b.SetRemote(SideB, mustParse(t, offerFrom("m=audio 4000 RTP/AVP 18")))
	if !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("err = %v", err)
	}
}

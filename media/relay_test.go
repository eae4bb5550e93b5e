package media

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
)

// peer plays a phone or a trunk: an RTP and an RTCP socket on loopback.
type peer struct {
	t          testing.TB
	rtp, rtcp  *net.UDPConn
	sdpPort    uint16 // the port it writes into its SDP (normally rtp's)
	ssrc       uint32
	seq        uint16
	ts         uint32
	readBuffer []byte
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	p := &peer{t: t, rtp: listen(), rtcp: listen(), ssrc: 0x11223344, seq: 1000, ts: 50000, readBuffer: make([]byte, 2048)}
	p.sdpPort = p.port()
	return p
}

func (p *peer) port() uint16 { return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

// sdp writes the peer's SDP with the given m= formats and extra lines.
func (p *peer) sdp(fmts string, extra ...string) Description {
	lines := append([]string{"c=IN IP4 127.0.0.1", "t=0 0", "m=audio " + itoa(int(p.sdpPort)) + " RTP/AVP " + fmts,
		"a=rtcp:" + itoa(int(p.rtcp.LocalAddr().(*net.UDPAddr).Port))}, extra...)
	return mustParse(p.t, sdpBody(lines...))
}

func itoa(n int) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[len("0.0.0.0:"):]
}

// send sends one RTP packet to the bridge port facing the peer.
func (p *peer) send(to netip.AddrPort, pt uint8, payload []byte) {
	p.t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
	p.seq++
	p.ts += uint32(len(payload))
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.rtp.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// recv waits for an RTP packet on the peer's RTP socket.
func (p *peer) recv() (*rtp.Packet, netip.AddrPort) {
	p.t.Helper()
	pkt, from, err := p.tryRecv(p.rtp, 2*time.Second)
	if err != nil {
		p.t.Fatalf("no RTP: %v", err)
	}
	return pkt, from
}

func (p *peer) tryRecv(c *net.UDPConn, d time.Duration) (*rtp.Packet, netip.AddrPort, error) {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, netip.AddrPort{}, err
	}
	n, from, err := c.ReadFromUDPAddrPort(p.readBuffer)
	if err != nil {
		return nil, from, err
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), p.readBuffer[:n]...)); err != nil {
		return nil, from, err
	}
	return &pkt, from, nil
}

// expectNothing asserts that no RTP arrives for a short while.
func (p *peer) expectNothing() {
	p.t.Helper()
	if pkt, _, err := p.tryRecv(p.rtp, 150*time.Millisecond); err == nil {
		p.t.Fatalf("unexpected packet PT %d seq %d", pkt.PayloadType, pkt.SequenceNumber)
	}
}

// call sets up a bridge the way sip/ will: A's offer, our offer to B, B's
// answer, our answer to A; then Start.
func call(t testing.TB, e *Engine, a, b *peer, aOffer func(*peer) Description, bAnswer func(*peer) Description, opts ...BridgeOption) *Bridge {
	t.Helper()
	br := newTestBridge(t, e, opts...)
	offer := aOffer(a)
	br.Offer(SideB, gwIP, offer)
	if err := br.SetRemote(SideB, bAnswer(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := br.Answer(SideA, gwIP, offer); err != nil {
		t.Fatal(err)
	}
	br.Start()
	return br
}

func pcmu(p *peer) Description { return p.sdp("0 101", "a=rtpmap:101 telephone-event/8000") }
func pcma(p *peer) Description { return p.sdp("8 101", "a=rtpmap:101 telephone-event/8000") }

func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func TestRelayBothWays(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	// A numbers PCMU 110 (dynamic), B uses the static 0.
	br := call(t, e, a, b, func(p *peer) Description { return p.sdp("110", "a=rtpmap:110 PCMU/8000") }, pcmu)

	a.send(br.Local(SideA), 110, payload(160, 1))
	got, from := b.recv()
	if got.PayloadType != 0 || string(got.Payload) != string(payload(160, 1)) {
		t.Errorf("B got PT %d payload %x...", got.PayloadType, got.Payload[:4])
	}
	if from != br.Local(SideB) {
		t.Errorf("B got it from %v, want the bridge's B port %v", from, br.Local(SideB))
	}
	b.send(br.Local(SideB), 0, payload(160, 7))
	got, _ = a.recv()
	if got.PayloadType != 110 || string(got.Payload) != string(payload(160, 7)) {
		t.Errorf("A got PT %d", got.PayloadType)
	}
	// The counters move just after the send, so the packet can arrive
	// before them.
	ok := func(st Stats) bool {
		return st.PacketsIn == 1 && st.PacketsOut == 1 && st.BytesIn == 172 && st.BytesOut == 172 && st.Codec == "PCMU" && st.Dropped == 0
	}
	for deadline := time.Now().Add(2 * time.Second); !ok(br.Stats(SideA)) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if st := br.Stats(SideA); !ok(st) {
		t.Errorf("A stats %+v", st)
	}
}

func TestRelayTranscodes(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, func(p *peer) Description { return p.sdp("0") }, pcma)
	if br.Stats(SideA).Codec != "PCMU" || br.Stats(SideB).Codec != "PCMA" {
		t.Fatalf("codecs %q/%q", br.Stats(SideA).Codec, br.Stats(SideB).Codec)
	}
	// A 440 Hz tone at about -10 dBFS, 20 ms.
	lin := make([]int16, 160)
	ulaw := make([]byte, 160)
	for i := range lin {
		lin[i] = int16(10000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		ulaw[i] = EncodeUlaw(lin[i])
	}
	a.send(br.Local(SideA), 0, ulaw)
	got, _ := b.recv()
	if got.PayloadType != 8 || len(got.Payload) != 160 {
		t.Fatalf("B got PT %d, %d bytes", got.PayloadType, len(got.Payload))
	}
	for i, c := range got.Payload {
		want := DecodeUlaw(ulaw[i])
		if d := math.Abs(float64(DecodeAlaw(c)) - float64(want)); d > 0.07*math.Abs(float64(want))+16 {
			t.Fatalf("sample %d: A-law %d, mu-law sent %d", i, DecodeAlaw(c), want)
		}
	}
	// And back: A-law from B arrives as mu-law at A.
	alaw := make([]byte, 160)
	for i := range alaw {
		alaw[i] = EncodeAlaw(lin[i])
	}
	b.send(br.Local(SideB), 8, alaw)
	got, _ = a.recv()
	if got.PayloadType != 0 {
		t.Fatalf("A got PT %d", got.PayloadType)
	}
	for i, c := range got.Payload {
		if d := math.Abs(float64(DecodeUlaw(c)) - float64(lin[i])); d > 0.07*math.Abs(float64(lin[i]))+16 {
			t.Fatalf("sample %d: mu-law %d, linear %d", i, DecodeUlaw(c), lin[i])
		}
	}
	waitFor(t, func() bool { return gather(t, e)["teamline_rtp_transcoded_packets_total"] == 2 })
}

func TestRelayTelephoneEvent(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, func(p *peer) Description {
		return p.sdp("0 96", "a=rtpmap:96 telephone-event/8000")
	}, pcmu)
	event := []byte{5, 0x0a, 0, 160} // digit 5, volume 10, duration 160 (RFC 4733 2.3)
	a.send(br.Local(SideA), 96, event)
	got, _ := b.recv()
	if got.PayloadType != 101 || string(got.Payload) != string(event) {
		t.Errorf("B got PT %d payload %x", got.PayloadType, got.Payload)
	}
	b.send(br.Local(SideB), 101, event)
	if got, _ := a.recv(); got.PayloadType != 96 {
		t.Errorf("A got PT %d", got.PayloadType)
	}
}

func TestRelayDrops(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := newTestBridge(t, e)
	offer := a.sdp("0 96", "a=rtpmap:96 telephone-event/8000")
	br.Offer(SideB, gwIP, offer)
	if err := br.SetRemote(SideB, b.sdp("0")); err != nil { // B: no telephone-event
		t.Fatal(err)
	}
	if _, err := br.Answer(SideA, gwIP, offer); err != nil {
		t.Fatal(err)
	}

	a.send(br.Local(SideA), 0, payload(160, 0)) // before Start
	waitFor(t, func() bool { return br.Stats(SideA).Dropped == 1 })
	br.Start()
	br.Start()
	a.send(br.Local(SideA), 96, []byte{1, 0, 0, 160}) // no telephone-event at B
	a.send(br.Local(SideA), 18, payload(20, 0))       // never negotiated
	if _, err := a.rtp.WriteToUDPAddrPort([]byte("not RTP at all"), br.Local(SideA)); err != nil {
		t.Fatal(err)
	}
	// B has no telephone-event: it hears the digit as a tone instead
	// (the event packet itself counts as dropped).
	for range int(dtmfToneLength / framePeriod) {
		if got, _ := b.recv(); got.PayloadType != 0 {
			t.Fatalf("B got PT %d during the digit's tone", got.PayloadType)
		}
	}
	waitFor(t, func() bool { return br.legs[SideB].player.Load() == 0 })
	a.send(br.Local(SideA), 0, payload(160, 3))
	if got, _ := b.recv(); got.PayloadType != 0 || got.Payload[0] != 3 {
		t.Errorf("B got PT %d payload %d", got.PayloadType, got.Payload[0])
	}
	waitFor(t, func() bool { return br.Stats(SideA).Dropped == 4 }, func() string {
		return fmt.Sprintf("dropped %d, want 4: %v", br.Stats(SideA).Dropped, gather(t, e))
	})
	// The out counter moves just after the send.
	var m map[string]float64
	waitFor(t, func() bool { m = gather(t, e); return m["teamline_rtp_packets_total/out"] == 1 }, func() string {
		return fmt.Sprintf("relayed packets: %v, want 1 (metrics %v)", m["teamline_rtp_packets_total/out"], m)
	})
	for _, r := range []string{"not_started", "no_telephone_event", "unknown_pt", "malformed"} {
		if m["teamline_rtp_dropped_total/"+r] != 1 {
			t.Errorf("dropped{reason=%q} = %v", r, m["teamline_rtp_dropped_total/"+r])
		}
	}
	if m["teamline_rtp_packets_total/in"] != 5 || m["teamline_rtp_packets_total/out"] != 1 || m["teamline_rtp_ports_in_use"] != 4 {
		t.Errorf("metrics %v", m)
	}
	b.expectNothing()
}

// Nothing goes toward a side whose address we do not know.
func TestRelayNoRemote(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a := newPeer(t)
	br := newTestBridge(t, e)
	if _, err := br.Answer(SideA, gwIP, a.sdp("0")); err != nil {
		t.Fatal(err)
	}
	br.Start()
	a.send(br.Local(SideA), 0, payload(160, 0))
	waitFor(t, func() bool { return br.Stats(SideA).Dropped == 1 })
	if m := gather(t, e); m["teamline_rtp_dropped_total/no_remote"] != 1 {
		t.Errorf("metrics %v", m)
	}
}

// Symmetric RTP: a phone behind NAT writes one port into its SDP and sends
// from another; after its first packet the bridge answers to where it sends
// from.
func TestRelayLatches(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	natted := newPeer(t) // what A's NAT really uses
	br := call(t, e, a, b, pcmu, pcmu)

	b.send(br.Local(SideB), 0, payload(160, 1))
	if got, _ := a.recv(); got.Payload[0] != 1 { // to A's SDP address before A sent anything
		t.Fatalf("A got %d", got.Payload[0])
	}
	natted.send(br.Local(SideA), 0, payload(160, 2))
	b.recv()
	b.send(br.Local(SideB), 0, payload(160, 3))
	if got, _ := natted.recv(); got.Payload[0] != 3 {
		t.Fatalf("latched A got %d", got.Payload[0])
	}
	if r := br.Stats(SideA).Remote; r.Port() != natted.port() {
		t.Errorf("A remote %v, want port %d", r, natted.port())
	}
	a.expectNothing()

	// A re-INVITE moves A's media to a new port: the latch starts over.
	moved := newPeer(t)
	if err := br.SetRemote(SideA, moved.sdp("0")); err != nil {
		t.Fatal(err)
	}
	b.send(br.Local(SideB), 0, payload(160, 4))
	if got, _ := moved.recv(); got.Payload[0] != 4 {
		t.Fatalf("moved A got %d", got.Payload[0])
	}
}

func TestRelayRTCP(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu)
	rtcpA := netip.AddrPortFrom(br.Local(SideA).Addr(), br.Local(SideA).Port()+1)
	// A receiver report with one report block (RFC 3550 6.4.2), opaque to us.
	rr := []byte{0x81, 201, 0, 7, 1, 2, 3, 4, 9, 9, 9, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5}
	if _, err := a.rtcp.WriteToUDPAddrPort(rr, rtcpA); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if err := b.rtcp.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, from, err := b.rtcp.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != string(rr) || from.Port() != br.Local(SideB).Port()+1 {
		t.Errorf("B got %x from %v", buf[:n], from)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if br.Stats(SideA).RTCPIn == 1 && br.Stats(SideB).RTCPOut == 1 {
			break
		}
	}
	if br.Stats(SideA).RTCPIn != 1 || br.Stats(SideB).RTCPOut != 1 {
		t.Errorf("stats %+v %+v", br.Stats(SideA), br.Stats(SideB))
	}
}

// One writer per outgoing stream: when the source changes SSRC, the far end
// sees the same SSRC, continuous sequence numbers, a marker and a timestamp
// moved on by the wall time in between.
func TestRelaySourceSwitch(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu)
	var got []*rtp.Packet
	for range 3 {
		a.send(br.Local(SideA), 0, payload(160, 0))
		p, _ := b.recv()
		got = append(got, p)
	}
	time.Sleep(100 * time.Millisecond)
	a.ssrc, a.seq, a.ts = 0x55667788, 7, 123 // e.g. the trunk switched from ringback to the callee
	for range 2 {
		a.send(br.Local(SideA), 0, payload(160, 0))
		p, _ := b.recv()
		got = append(got, p)
	}
	for i, p := range got {
		if p.SSRC != got[0].SSRC {
			t.Errorf("packet %d SSRC %x, want %x", i, p.SSRC, got[0].SSRC)
		}
		if i > 0 && p.SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d seq %d after %d", i, p.SequenceNumber, got[i-1].SequenceNumber)
		}
		if p.Marker != (i == 3) {
			t.Errorf("packet %d marker %v", i, p.Marker)
		}
	}
	if d := got[1].Timestamp - got[0].Timestamp; d != 160 {
		t.Errorf("ts step %d within a source", d)
	}
	// 100 ms of wall time is 800 ticks at 8 kHz; allow for a slow machine.
	if d := got[3].Timestamp - got[2].Timestamp; d < 800 || d > 8000 {
		t.Errorf("ts advanced %d over the switch", d)
	}
	if d := got[4].Timestamp - got[3].Timestamp; d != 160 {
		t.Errorf("ts step %d after the switch", d)
	}
}

// Loss within one source stays visible: the sequence gap passes through.
func TestRelayKeepsGaps(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu)
	a.send(br.Local(SideA), 0, payload(160, 0))
	p1, _ := b.recv()
	a.seq += 2 // two packets lost
	a.ts += 320
	a.send(br.Local(SideA), 0, payload(160, 0))
	p2, _ := b.recv()
	if p2.SequenceNumber-p1.SequenceNumber != 3 || p2.Timestamp-p1.Timestamp != 480 || p2.Marker {
		t.Errorf("seq +%d ts +%d marker %v", p2.SequenceNumber-p1.SequenceNumber, p2.Timestamp-p1.Timestamp, p2.Marker)
	}
}

func TestWriterWritePayload(t *testing.T) {
	e := newTestEngine(t, 8, Config{})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu)
	a.send(br.Local(SideA), 0, payload(160, 0))
	p1, _ := b.recv()
	w := br.legs[SideB].w
	dst, _ := br.legs[SideB].target(&br.legs[SideB].latchRTP, false)
	for range 2 {
		if err := w.WritePayload(0, payload(160, 9), 160, dst); err != nil {
			t.Fatal(err)
		}
	}
	p2, _ := b.recv()
	p3, _ := b.recv()
	a.send(br.Local(SideA), 0, payload(160, 0))
	p4, _ := b.recv()
	if p2.SequenceNumber != p1.SequenceNumber+1 || !p2.Marker || p3.SequenceNumber != p2.SequenceNumber+1 || p3.Marker ||
		p3.Timestamp-p2.Timestamp != 160 || p4.SequenceNumber != p3.SequenceNumber+1 || !p4.Marker || p4.SSRC != p1.SSRC {
		t.Errorf("prompt then peer: %v %v %v %v", p1.Header, p2.Header, p3.Header, p4.Header)
	}
}

func TestMediaTimeout(t *testing.T) {
	var fired atomic.Int32
	e := newTestEngine(t, 8, Config{MediaTimeout: 200 * time.Millisecond})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu, WithTimeoutFunc(func() { fired.Add(1) }))
	a.send(br.Local(SideA), 0, payload(160, 0))
	waitFor(t, func() bool { return fired.Load() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Errorf("timeout func called %d times", n)
	}
}

func TestMediaTimeoutNotOnHold(t *testing.T) {
	var fired atomic.Int32
	e := newTestEngine(t, 8, Config{MediaTimeout: 200 * time.Millisecond})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu, WithTimeoutFunc(func() { fired.Add(1) }))
	// A puts B on hold (re-INVITE with sendonly) and nobody sends.
	hold := a.sdp("0", "a=sendonly")
	br.Offer(SideB, gwIP, hold)
	if _, err := br.Answer(SideA, gwIP, hold); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("media timeout while on hold")
	}
	// Resumed, still silent: now it fires.
	if _, err := br.Answer(SideA, gwIP, a.sdp("0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fired.Load() == 1 })
}

// A side whose SDP another bridge answers is put on hold by SetHold, and
// that too pauses the media timeout.
func TestMediaTimeoutNotOnSetHold(t *testing.T) {
	var fired atomic.Int32
	e := newTestEngine(t, 8, Config{MediaTimeout: 200 * time.Millisecond})
	a, b := newPeer(t), newPeer(t)
	br := call(t, e, a, b, pcmu, pcmu, WithTimeoutFunc(func() { fired.Add(1) }))
	br.SetHold(SideB, true)
	time.Sleep(600 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("media timeout while on hold")
	}
	br.SetHold(SideB, false)
	waitFor(t, func() bool { return fired.Load() == 1 })
}

// A timeout func may close the bridge it belongs to.
func TestMediaTimeoutCloses(t *testing.T) {
	e := newTestEngine(t, 8, Config{MediaTimeout: 100 * time.Millisecond})
	a, b := newPeer(t), newPeer(t)
	var br atomic.Pointer[Bridge]
	done := make(chan struct{})
	br.Store(call(t, e, a, b, pcmu, pcmu, WithTimeoutFunc(func() { br.Load().Close(); close(done) })))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout")
	}
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("PortsInUse %d", n)
	}
}

func TestPortsReturned(t *testing.T) {
	e := newTestEngine(t, 2, Config{Quarantine: 200 * time.Millisecond})
	br, err := e.NewBridge(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.PortsInUse(); n != 4 {
		t.Errorf("PortsInUse %d, want 4", n)
	}
	ports := map[uint16]bool{br.Local(SideA).Port(): true, br.Local(SideB).Port(): true}
	if _, err := e.NewBridge(nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("second bridge: %v, want ErrNoPorts", err)
	}
	br.Close()
	br.Close()
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("PortsInUse after Close %d", n)
	}
	if _, err := e.NewBridge(nil); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("bridge during quarantine: %v, want ErrNoPorts", err)
	}
	time.Sleep(250 * time.Millisecond)
	br2, err := e.NewBridge(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br2.Close()
	if !ports[br2.Local(SideA).Port()] || !ports[br2.Local(SideB).Port()] {
		t.Errorf("got ports %v %v, want %v", br2.Local(SideA), br2.Local(SideB), ports)
	}
	if br2.Local(SideA).Port()%2 != 0 {
		t.Errorf("RTP on odd port %d", br2.Local(SideA).Port())
	}
}

// Pairs held by another process are skipped; the range is walked
// round-robin.
func TestPortsSkipBusyRoundRobin(t *testing.T) {
	e := newTestEngine(t, 6, Config{})
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: e.cfg.PortMin + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ports := func() [2]int {
		t.Helper()
		br, err := e.NewBridge(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer br.Close()
		return [2]int{int(br.Local(SideA).Port()) - e.cfg.PortMin, int(br.Local(SideB).Port()) - e.cfg.PortMin}
	}
	if got := ports(); got != [2]int{2, 4} { // pair 0 is busy (its RTCP port)
		t.Errorf("first bridge at offsets %v", got)
	}
	if got := ports(); got != [2]int{6, 8} { // the next pairs, not the ones just released
		t.Errorf("second bridge at offsets %v", got)
	}
	time.Sleep(60 * time.Millisecond)         // quarantine
	if got := ports(); got != [2]int{10, 2} { // wraps around, skipping the busy pair again
		t.Errorf("third bridge at offsets %v", got)
	}
}

func TestEngineClose(t *testing.T) {
	e := newTestEngine(t, 8, Config{MediaTimeout: time.Second})
	for range 3 {
		if _, err := e.NewBridge(nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("PortsInUse %d", n)
	}
	if _, err := e.NewBridge(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("NewBridge after Close: %v", err)
	}
}

func TestNewEngineBadConfig(t *testing.T) {
	for _, c := range []Config{{PortMin: 0, PortMax: 10}, {PortMin: 20001, PortMax: 20001}, {PortMin: 30000, PortMax: 20000}, {PortMin: 20000, PortMax: 70000}} {
		if _, err := NewEngine(nil, c); err == nil {
			t.Errorf("NewEngine(%+v) accepted", c)
		}
	}
}

// waitFor polls cond for up to 5 s; on failure, explain (if given) tells
// what was seen instead.
func waitFor(t testing.TB, cond func() bool, explain ...func() string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	msg := "condition not met in 5s"
	for _, f := range explain {
		msg += ": " + f()
	}
	t.Fatal(msg)
}

// gather returns the engine's metrics as "name/label" -> value.
func gather(t testing.TB, e *Engine) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range e.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			key := mf.GetName()
			var labels []string
			for _, l := range x.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			if len(labels) > 0 {
				key += "/" + strings.Join(labels, ",")
			}
			switch {
			case x.Counter != nil:
				m[key] = x.Counter.GetValue()
			case x.Gauge != nil:
				m[key] = x.Gauge.GetValue()
			}
		}
	}
	return m
}

// TestGoroutineRelay runs the relay tests again with a goroutine per socket
// (Config.GoroutineRelay; the default relay is the epoll one on Linux).
func TestGoroutineRelay(t *testing.T) {
	testGoroutineRelay = true
	defer func() { testGoroutineRelay = false }()
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"BothWays", TestRelayBothWays},
		{"Transcodes", TestRelayTranscodes},
		{"TelephoneEvent", TestRelayTelephoneEvent},
		{"Drops", TestRelayDrops},
		{"NoRemote", TestRelayNoRemote},
		{"Latches", TestRelayLatches},
		{"RTCP", TestRelayRTCP},
		{"SourceSwitch", TestRelaySourceSwitch},
		{"WritePayload", TestWriterWritePayload},
		{"MediaTimeoutCloses", TestMediaTimeoutCloses},
		{"PortsReturned", TestPortsReturned},
		{"PortsSkipBusyRoundRobin", TestPortsSkipBusyRoundRobin},
		{"EngineClose", TestEngineClose},
		{"CloseUnderLoad", TestCloseUnderLoad},
	} {
		t.Run(tc.name, tc.f)
	}
}

// Closing bridges while packets flow through them and through others:
// Close stays quick and every counter and port comes back.
func TestCloseUnderLoad(t *testing.T) {
	e := newTestEngine(t, 64, Config{Quarantine: time.Millisecond})
	type live struct {
		br   *Bridge
		stop chan struct{}
		done chan struct{}
	}
	var ring []live
	var slowest time.Duration
	closeOldest := func() {
		l := ring[0]
		ring = ring[1:]
		t0 := time.Now()
		l.br.Close()
		slowest = max(slowest, time.Since(t0))
		close(l.stop)
		<-l.done
	}
	var relayed uint64
	for range 150 {
		a, b := newPeer(t), newPeer(t)
		br := call(t, e, a, b, pcmu, pcmu)
		l := live{br, make(chan struct{}), make(chan struct{})}
		to := br.Local(SideA)
		go func() {
			defer close(l.done)
			pkt := make([]byte, 172)
			pkt[0] = 0x80
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-time.After(200 * time.Microsecond):
				}
				pkt[3] = byte(i)
				_, _ = a.rtp.WriteToUDPAddrPort(pkt, to)
			}
		}()
		ring = append(ring, l)
		if len(ring) > 20 {
			relayed += ring[0].br.Stats(SideB).PacketsOut
			closeOldest()
		}
		time.Sleep(time.Millisecond)
	}
	for len(ring) > 0 {
		closeOldest()
	}
	if relayed == 0 {
		t.Error("nothing relayed")
	}
	if n := e.PortsInUse(); n != 0 {
		t.Errorf("PortsInUse %d", n)
	}
	if slowest > time.Second {
		t.Errorf("slowest Close took %v", slowest)
	}
	t.Logf("relayed %d packets, slowest Close %v", relayed, slowest)
}

package media

import (
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Side names a leg of the bridge.
type Side int

const (
	SideA Side = iota // the leg that sent the first INVITE
	SideB             // the leg the gateway called
)

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s&1 }

// String returns "A" or "B", the leg names in logs.
func (s Side) String() string {
	if s == SideB {
		return "B"
	}
	return "A"
}

// BridgeOption configures a Bridge.
type BridgeOption func(*Bridge)

// WithTimeoutFunc sets the function called once, from an engine goroutine,
// when the bridge's media times out (Config.MediaTimeout). It must not call
// Engine.Close; calling Bridge.Close is fine.
func WithTimeoutFunc(f func()) BridgeOption {
	return func(b *Bridge) { b.onTimeout = f }
}

// Stats are one side's counters. In is what arrived from the side, Out
// what the gateway sent toward it.
type Stats struct {
	PacketsIn, PacketsOut uint64 // RTP
	BytesIn, BytesOut     uint64 // RTP, UDP payload bytes
	Dropped               uint64 // RTP and RTCP from this side that were not relayed
	RTCPIn, RTCPOut       uint64
	Remote                netip.AddrPort // latched source, else the SDP address
	Codec                 string         // codec the side sends and receives, "" before its SDP
	Played                uint64         // RTP packets of the gateway's own audio (prompts, tones) sent toward the side
}

// Bridge anchors the audio of one call: a port pair facing each side, and
// the relay between them.
type Bridge struct {
	log       *slog.Logger
	e         *Engine
	onTimeout func()
	legs      [2]*leg

	started   atomic.Bool
	closeOnce sync.Once
	wg        sync.WaitGroup // the goroutine relay's goroutines
	poll      *pollBridge    // the epoll relay's registration

	mu  sync.Mutex // SDP state below; never taken per packet
	sdp [2]sdpState

	sink        atomic.Pointer[sinkRef]  // the recording, if any
	onDTMF      atomic.Pointer[DTMFFunc] // who listens for digits, if anyone
	playMu      sync.Mutex
	playsClosed bool           // under playMu: no new Play
	plays       sync.WaitGroup // Play calls and the tones played for DTMF
	closed      chan struct{}  // closed by Close: plays end
	nextPlay    atomic.Uint64

	// Watchdog state, touched only by the engine's watch goroutine.
	wdSeen   bool
	wdPkts   uint64
	wdLast   time.Time
	wdFired  bool
	stopping atomic.Bool
}

// sdpState is what the SDP exchanges told us about one side and what we
// told it.
type sdpState struct {
	known   bool        // a description of the side has been seen
	desc    Description // its last description
	codec   Codec       // the codec it uses, in its payload type numbering
	te      uint8       // its telephone-event payload type, 0 = none
	sessID  uint64      // our o= toward it (RFC 4566 5.2)
	version uint64
	ourTE   uint8 // the telephone-event PT we offered it
}

// NewBridge allocates a port pair facing each side. The relay runs from here
// on, dropping what arrives until Start. It returns ErrNoPorts when
// the range is exhausted.
func (e *Engine) NewBridge(log *slog.Logger, opts ...BridgeOption) (*Bridge, error) {
	if log == nil {
		log = e.log
	}
	b := &Bridge{log: log, e: e, closed: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	for s := range b.legs {
		b.legs[s] = &leg{side: Side(s)}
		b.sdp[s].sessID = rand.Uint64() >> 1 // RFC 4566: fits a 63-bit NTP-ish value
	}
	b.rebuild()
	if err := e.addBridge(b); err != nil {
		return nil, err
	}
	if e.poll == nil {
		for _, l := range b.legs {
			b.wg.Add(2)
			go b.relayRTP(l, b.legs[l.side.Other()])
			go b.relayRTCP(l, b.legs[l.side.Other()])
		}
	}
	log.Debug("media bridge open", "local_a", b.Local(SideA), "local_b", b.Local(SideB))
	return b, nil
}

// Local returns the bound RTP address facing side s.
func (b *Bridge) Local(s Side) netip.AddrPort {
	return b.legs[s&1].local
}

// Start starts relaying. It is idempotent.
func (b *Bridge) Start() {
	b.started.Store(true)
}

// Close stops the relay and releases the ports into quarantine. It is
// idempotent and waits until no relay goroutine uses the bridge (with the
// epoll relay, at most one round of its worker).
func (b *Bridge) Close() {
	b.closeOnce.Do(func() {
		b.stopping.Store(true)
		b.playMu.Lock()
		b.playsClosed = true
		close(b.closed)
		b.playMu.Unlock()
		b.plays.Wait()
		if b.e.poll != nil {
			b.e.poll.remove(b)
		}
		for _, l := range b.legs {
			l.rtp.Close()
			l.rtcp.Close()
		}
		b.wg.Wait()
		b.e.removeBridge(b)
		b.log.Debug("media bridge closed", "a", b.Stats(SideA), "b", b.Stats(SideB))
	})
}

// SetRemote records side s's description (typically its answer): where it
// wants media, the codec it chose (the first G.711 codec listed), its
// telephone-event payload type and its direction. A description with port 0
// (stream rejected) clears the remote. A changed address drops the latch, so
// the relay latches anew onto what arrives (a re-INVITE that moves media).
func (b *Bridge) SetRemote(s Side, d Description) error {
	s &= 1
	var codec Codec
	if d.Port != 0 {
		var ok bool
		if codec, ok = firstG711(d.Codecs); !ok {
			return ErrNoCommonCodec
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setRemoteLocked(s, d, codec)
	return nil
}

func firstG711(cs []Codec) (Codec, bool) {
	for _, c := range cs {
		if c.isG711() {
			return c, true
		}
	}
	return Codec{}, false
}

func (b *Bridge) setRemoteLocked(s Side, d Description, codec Codec) {
	st := &b.sdp[s]
	st.known, st.desc, st.codec, st.te = true, d, codec, d.TelephoneEvent
	if d.Port == 0 {
		st.codec, st.te = Codec{}, 0
	}
	b.legs[s].hold.Store(d.OnHold())
	b.rebuild()
}

// rebuild publishes the SDP state to the relay: the destination of each side
// and the payload type routes of both directions. Called with b.mu held (or
// before the relay starts).
func (b *Bridge) rebuild() {
	for s, l := range b.legs {
		st := &b.sdp[s]
		old := l.dest.Load()
		d := &dest{}
		if st.known && st.desc.Port != 0 && st.desc.Addr.IsValid() && !st.desc.Addr.IsUnspecified() {
			d.valid = true
			d.rtp = netip.AddrPortFrom(st.desc.Addr, st.desc.Port)
			d.rtcp = netip.AddrPortFrom(st.desc.Addr, st.desc.RTCPPort)
		}
		d.gen = 1
		if old != nil {
			d.gen = old.gen
			if old.valid != d.valid || old.rtp != d.rtp || old.rtcp != d.rtcp {
				d.gen++ // forget the latch
			}
		}
		l.dest.Store(d)
		l.send.Store(&sendFormat{codec: st.codec.Name, pt: st.codec.PT, kind: st.codec.law()})
	}
	for s, l := range b.legs {
		l.route.Store(buildRoute(&b.sdp[s], &b.sdp[1-s]))
	}
}

// buildRoute computes what happens to each payload type arriving from side
// from on its way to side to.
func buildRoute(from, to *sdpState) *route {
	te := from.known && from.te != 0 // the side negotiated telephone-event
	r := &route{events: te}
	codecs := from.desc.Codecs
	if !from.known {
		// Packets before the side's SDP (early media racing the answer):
		// the RFC 3551 static G.711 types need no SDP to be understood.
		codecs = []Codec{staticPTs[0], staticPTs[8]}
	}
	for _, c := range codecs {
		if c.PT > 127 || r.act[c.PT] != actUnknown {
			continue
		}
		switch k := c.law(); {
		case k != kindNone:
			r.kind[c.PT] = k
		case te && c.PT == from.te:
			r.kind[c.PT] = kindEvent
		}
		switch {
		case te && c.PT == from.te:
			switch {
			case to.te != 0:
				r.act[c.PT], r.pt[c.PT] = actPass, to.te
			case to.codec.Name == "":
				r.act[c.PT] = actNoRemote
			default:
				r.act[c.PT] = actNoTE // played to the other side as a tone (tap)
			}
		case c.isG711():
			switch {
			case to.codec.Name == "":
				r.act[c.PT] = actNoRemote
			case to.codec.Name == c.Name:
				r.act[c.PT], r.pt[c.PT] = actPassAudio, to.codec.PT
			case c.Name == codecPCMU:
				r.act[c.PT], r.pt[c.PT] = actUlawToAlaw, to.codec.PT
			default:
				r.act[c.PT], r.pt[c.PT] = actAlawToUlaw, to.codec.PT
			}
		}
	}
	return r
}

// Stats returns side s's counters.
func (b *Bridge) Stats(s Side) Stats {
	s &= 1
	in, out := b.legs[s], b.legs[1-s]
	st := Stats{
		PacketsIn:  in.rtpIn.pkts.Load(),
		BytesIn:    in.rtpIn.bytes.Load(),
		PacketsOut: out.rtpIn.fwdPkts.Load(),
		BytesOut:   out.rtpIn.fwdBytes.Load(),
		RTCPIn:     in.rtcpIn.pkts.Load(),
		RTCPOut:    out.rtcpIn.fwdPkts.Load(),
		Played:     in.played.Load(),
	}
	for i := range in.rtpIn.dropped {
		st.Dropped += in.rtpIn.dropped[i].Load() + in.rtcpIn.dropped[i].Load()
	}
	if sf := in.send.Load(); sf != nil {
		st.Codec = sf.codec
	}
	if d := in.dest.Load(); d != nil {
		if l := in.latchRTP.Load(); l != nil && l.gen == d.gen {
			st.Remote = l.addr
		} else if d.valid {
			st.Remote = d.rtp
		}
	}
	return st
}

// SetHold says whether side s is on hold, as its SDP would (the media
// timeout pauses while either side holds). It is for a side whose SDP
// another bridge answers: the agent of an instant call, whose own bridge is
// spliced to this one.
func (b *Bridge) SetHold(s Side, on bool) { b.legs[s&1].hold.Store(on) }

// checkTimeout returns the timeout func when it is due now (and marks it
// fired), nil otherwise. Only the engine's watch goroutine calls it.
func (b *Bridge) checkTimeout(now time.Time, timeout time.Duration) func() {
	if b.wdFired || b.onTimeout == nil || !b.started.Load() || b.stopping.Load() {
		return nil
	}
	pkts := b.legs[0].rtpIn.pkts.Load() + b.legs[1].rtpIn.pkts.Load()
	// A side on hold may legitimately send nothing (RFC 3264 8.4), so hold
	// pauses the timer; it starts afresh when the call is resumed.
	if !b.wdSeen || pkts != b.wdPkts || b.legs[0].hold.Load() || b.legs[1].hold.Load() {
		b.wdSeen, b.wdPkts, b.wdLast = true, pkts, now
		return nil
	}
	if now.Sub(b.wdLast) < timeout {
		return nil
	}
	b.wdFired = true
	return b.onTimeout
}

// leg is the gateway's end facing one side: its sockets, where that side
// wants media, and the writer of the stream toward it. Fields read per
// packet are atomics written by the SDP calls.
type leg struct {
	side      Side
	rtp, rtcp udpConn
	local     netip.AddrPort
	localRTCP netip.AddrPort
	w         *streamWriter // the one writer of the RTP stream toward this side
	dest      atomic.Pointer[dest]
	latchRTP  atomic.Pointer[latch]
	latchRTCP atomic.Pointer[latch]
	route     atomic.Pointer[route] // for packets arriving from this side
	hold      atomic.Bool
	send      atomic.Pointer[sendFormat] // the codec this side accepted, which the gateway's own audio toward it uses
	// relayOff: what this side sends is not passed to the other side
	// (the call is not bridged yet, or the other side hears a prompt).
	relayOff atomic.Bool
	// player is the id of the Play feeding the stream toward this side
	// (0 = none); while it is set, the other side's audio is not relayed
	// here.
	player atomic.Uint64
	played atomic.Uint64 // packets of the gateway's own audio sent toward this side
	taps   taps          // recording and DTMF state; only this leg's RTP reader touches it
	rtpIn  counters      // written by this leg's RTP goroutine
	rtcpIn counters      // written by this leg's RTCP goroutine
	_      [64]byte
}

func (l *leg) setConns(rtp, rtcp udpConn) {
	l.rtp, l.rtcp = rtp, rtcp
	l.local = rtp.localAddrPort()
	l.localRTCP = rtcp.localAddrPort()
	l.w = newStreamWriter(rtp, 8000)
}

// dest is where a side asked for media in its SDP. gen changes whenever the
// address does; a latch is only good for the gen it was made in.
type dest struct {
	valid     bool
	rtp, rtcp netip.AddrPort
	gen       uint64
}

type latch struct {
	addr netip.AddrPort
	gen  uint64
}

// action is what the relay does with a payload type.
type action uint8

const (
	actUnknown    action = iota // not negotiated: drop
	actPassAudio                // same codec on both legs: rewrite PT
	actUlawToAlaw               // transcode, rewrite PT
	actAlawToUlaw
	actPass     // telephone-event: rewrite PT
	actNoTE     // telephone-event, but the other leg has none: it hears a tone
	actNoRemote // the other leg has no codec yet
)

// route maps incoming payload types to an action and an outgoing type,
// and tells what each type carries (for the taps: recording and DTMF).
type route struct {
	act  [128]action
	pt   [128]uint8
	kind [128]payloadKind
	// events: the side these packets come from negotiated
	// telephone-event.
	events bool
}

// payloadKind is what a negotiated payload type carries.
type payloadKind uint8

const (
	kindNone payloadKind = iota
	kindUlaw
	kindAlaw
	kindEvent // RFC 4733 telephone-event
)

// law is the payloadKind of a G.711 codec, kindNone for any other.
func (c Codec) law() payloadKind {
	switch {
	case !c.isG711():
		return kindNone
	case c.Name == codecPCMU:
		return kindUlaw
	}
	return kindAlaw
}

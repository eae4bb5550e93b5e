package media

import (
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// defaultTEPT is the telephone-event payload type we offer when we are free
// to choose; 101 is what most phones and trunks use.
const defaultTEPT = 101

// Offer returns an SDP offer to side s, made from basis, what the other side
// offered. It offers PCMU and PCMA (both always, so that the gateway can
// transcode whichever the side picks; in basis's order when basis names
// them) and telephone-event 0-16 (RFC 4733). The direction mirrors basis, and
// basis's ptime is passed on. ip is the address written into c= and o=.
func (b *Bridge) Offer(s Side, ip netip.Addr, basis Description) []byte {
	s &= 1
	b.mu.Lock()
	defer b.mu.Unlock()
	st := &b.sdp[s]

	codecs := make([]Codec, 0, 3)
	for _, c := range basis.Codecs {
		if c.isG711() && !hasCodec(codecs, c.Name) {
			codecs = append(codecs, staticFor(c.Name))
		}
	}
	for _, name := range []string{codecPCMU, codecPCMA} {
		if !hasCodec(codecs, name) {
			codecs = append(codecs, staticFor(name))
		}
	}
	st.ourTE = b.chooseTE(st)
	codecs = append(codecs, Codec{PT: st.ourTE, Name: codecTE, Rate: 8000})

	dir := basis.Direction
	if basis.Addr.IsValid() && basis.Addr.IsUnspecified() {
		// RFC 2543 hold (c=0.0.0.0): the holder wants no media. Say it the
		// RFC 3264 8.4 way toward the other side.
		switch dir {
		case Sendrecv:
			dir = Sendonly
		case Recvonly:
			dir = Inactive
		}
	}
	audio := audioMedia(b.legs[s].local.Port(), codecs, st.ourTE, dir, basis.Ptime)
	return b.marshalLocked(s, ip, []*sdp.MediaDescription{audio})
}

// chooseTE picks the telephone-event payload type we offer side s: the one
// already agreed with it (RFC 3264 8.3.2: keep the mapping within a
// session), else 101, else the first dynamic type the side does not use for
// something else.
func (b *Bridge) chooseTE(st *sdpState) uint8 {
	if st.te != 0 {
		return st.te
	}
	if st.ourTE != 0 {
		return st.ourTE
	}
	taken := func(pt uint8) bool {
		for _, c := range st.desc.Codecs {
			if c.PT == pt {
				return true
			}
		}
		return false
	}
	if !taken(defaultTEPT) {
		return defaultTEPT
	}
	for pt := uint8(96); pt < 128; pt++ {
		if !taken(pt) {
			return pt
		}
	}
	return defaultTEPT
}

func hasCodec(cs []Codec, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func staticFor(name string) Codec {
	if name == codecPCMA {
		return staticPTs[8]
	}
	return staticPTs[0]
}

// Answer returns the answer to side s's offer and records the offer like
// SetRemote. The codec is the one the other side already uses if s offered
// it (no transcoding), else s's first G.711 codec; ErrNoCommonCodec if s
// offered neither law. s's payload type numbers are kept, including its
// telephone-event type. Every m= line of the offer gets one in the answer;
// all but the audio stream are rejected with port 0 (RFC 3264 6).
func (b *Bridge) Answer(s Side, ip netip.Addr, offer Description) ([]byte, error) {
	s &= 1
	b.mu.Lock()
	defer b.mu.Unlock()
	other := &b.sdp[s.Other()]

	var codec Codec
	found := false
	if other.codec.Name != "" {
		for _, c := range offer.Codecs {
			if c.isG711() && c.Name == other.codec.Name {
				codec, found = c, true
				break
			}
		}
	}
	if !found {
		codec, found = firstG711(offer.Codecs)
	}
	if !found && offer.Port != 0 {
		return nil, ErrNoCommonCodec
	}

	var audio *sdp.MediaDescription
	if offer.Port == 0 {
		// A rejected stream stays rejected in the answer (RFC 3264 6).
		audio = rejectedMedia(mline{media: "audio", protos: []string{"RTP", "AVP"}, formats: formats(offer.Codecs)})
	} else {
		codecs := []Codec{codec}
		if offer.TelephoneEvent != 0 {
			codecs = append(codecs, Codec{PT: offer.TelephoneEvent, Name: codecTE, Rate: 8000})
		}
		audio = audioMedia(b.legs[s].local.Port(), codecs, offer.TelephoneEvent, offer.Direction.answer(), offer.Ptime)
	}
	mds := []*sdp.MediaDescription{audio}
	if len(offer.mlines) > 0 && offer.audio >= 0 && offer.audio < len(offer.mlines) {
		mds = make([]*sdp.MediaDescription, len(offer.mlines))
		for i, m := range offer.mlines {
			if i == offer.audio {
				audio.MediaName.Protos = m.protos // answer in the offer's profile (AVP or AVPF)
				mds[i] = audio
			} else {
				mds[i] = rejectedMedia(m)
			}
		}
	}
	b.setRemoteLocked(s, offer, codec)
	return b.marshalLocked(s, ip, mds), nil
}

func formats(cs []Codec) []string {
	f := make([]string, 0, len(cs))
	for _, c := range cs {
		f = append(f, strconv.Itoa(int(c.PT)))
	}
	if len(f) == 0 {
		f = append(f, "0") // an m= line needs at least one format
	}
	return f
}

func rejectedMedia(m mline) *sdp.MediaDescription {
	f := m.formats
	if len(f) == 0 {
		f = []string{"0"}
	}
	protos := m.protos
	if len(protos) == 0 {
		protos = []string{"RTP", "AVP"}
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: m.media, Port: sdp.RangedPort{Value: 0}, Protos: protos, Formats: f,
	}}
}

// audioMedia writes our audio m= section.
func audioMedia(port uint16, codecs []Codec, te uint8, dir Direction, ptime int) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: int(port)}, Protos: []string{"RTP", "AVP"}, Formats: formats(codecs),
	}}
	for _, c := range codecs {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", strconv.Itoa(int(c.PT))+" "+rtpmapName(c.Name)+"/"+strconv.Itoa(int(c.Rate))))
	}
	if te != 0 {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", strconv.Itoa(int(te))+" 0-16"))
	}
	if ptime > 0 {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("ptime", strconv.Itoa(ptime)))
	}
	md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute(dir.String()))
	return md
}

// rtpmapName writes encoding names the way RFC 4733 and RFC 3551 spell them.
func rtpmapName(name string) string {
	if name == codecTE {
		return "telephone-event"
	}
	return name
}

// marshalLocked wraps media sections into a session description with our
// origin toward side s; every SDP we send a side gets the next version
// (RFC 3264 8: the version changes with every new offer or answer).
func (b *Bridge) marshalLocked(s Side, ip netip.Addr, mds []*sdp.MediaDescription) []byte {
	st := &b.sdp[s]
	st.version++
	ip = ip.Unmap()
	if !ip.IsValid() {
		ip = b.legs[s].local.Addr().Unmap()
	}
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	sd := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: st.sessID, SessionVersion: st.version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip.String(),
		},
		SessionName: "Teamline",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions:  []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: mds,
	}
	out, err := sd.Marshal()
	if err != nil {
		// Marshal only fails on values we never produce.
		b.log.Error("media: marshal SDP", "err", err)
	}
	return out
}

// Answerable reports whether the gateway can take an offer d at all: it
// must name PCMU or PCMA (ErrNoCommonCodec otherwise). Checked before the
// callee rings, so an unusable offer is refused rather than answered and
// then dropped.
func (d Description) Answerable() error {
	if _, ok := firstG711(d.Codecs); !ok {
		return ErrNoCommonCodec
	}
	return nil
}

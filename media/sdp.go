package media

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxSDPSize is the largest SDP body ParseSDP accepts. Real offers for one
// audio stream are well under 2 KiB; the limit keeps a hostile peer from
// making the gateway parse megabytes.
const MaxSDPSize = 16 << 10

// Direction is the media direction attribute of a stream (RFC 3264 5.1),
// always from the point of view of the party that wrote the SDP.
type Direction int

// Directions in the order of RFC 3264 5.1.
const (
	Sendrecv Direction = iota
	Sendonly
	Recvonly
	Inactive
)

// String returns the SDP attribute name.
func (d Direction) String() string {
	switch d {
	case Sendonly:
		return "sendonly"
	case Recvonly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "sendrecv"
	}
}

// answer returns the direction an answerer writes for an offer with
// direction d (RFC 3264 6.1).
func (d Direction) answer() Direction {
	switch d {
	case Sendonly:
		return Recvonly
	case Recvonly:
		return Sendonly
	case Inactive:
		return Inactive
	default:
		return Sendrecv
	}
}

// Codec is one audio format of an m= line.
type Codec struct {
	PT   uint8
	Name string // upper case: "PCMU", "PCMA", "TELEPHONE-EVENT"
	Rate uint32
}

// Codec names the relay understands.
const (
	codecPCMU = "PCMU"
	codecPCMA = "PCMA"
	codecTE   = "TELEPHONE-EVENT"
)

// isG711 reports whether c is one of the two G.711 laws at 8 kHz, the only
// audio the relay carries (and transcodes between).
func (c Codec) isG711() bool {
	return (c.Name == codecPCMU || c.Name == codecPCMA) && c.Rate == 8000
}

// Description is the audio part of an SDP body.
type Description struct {
	Addr           netip.Addr // from c= (media level over session level); 0.0.0.0 means hold (RFC 2543 style)
	Port           uint16     // audio m= port; 0 = stream rejected
	RTCPPort       uint16     // a=rtcp (RFC 3605) or Port+1
	Codecs         []Codec    // audio formats in m= order
	TelephoneEvent uint8      // payload type of telephone-event/8000, 0 = not offered
	Direction      Direction  // Sendrecv when the SDP says nothing
	Ptime          int        // ms, 0 = not given

	// The m= lines of the whole body and which one is the audio stream, so
	// that an answer has as many m= lines as the offer, in the same order,
	// with the ones we do not take rejected (RFC 3264 6). Empty for a
	// Description built by hand: the answer then has only the audio line.
	mlines []mline
	audio  int
}

type mline struct {
	media   string
	protos  []string
	formats []string
}

// OnHold reports whether the party that wrote d does not want to receive
// media: sendonly, inactive, or the RFC 2543 style 0.0.0.0 address.
func (d Description) OnHold() bool {
	return d.Direction == Sendonly || d.Direction == Inactive || (d.Addr.IsValid() && d.Addr.IsUnspecified())
}

// staticPTs are the RFC 3551 (table 4) payload types a peer may use without
// an rtpmap line.
var staticPTs = map[uint8]Codec{
	0:  {0, "PCMU", 8000},
	3:  {3, "GSM", 8000},
	4:  {4, "G723", 8000},
	5:  {5, "DVI4", 8000},
	6:  {6, "DVI4", 16000},
	7:  {7, "LPC", 8000},
	8:  {8, "PCMA", 8000},
	9:  {9, "G722", 8000},
	10: {10, "L16", 44100},
	11: {11, "L16", 44100},
	12: {12, "QCELP", 8000},
	13: {13, "CN", 8000},
	14: {14, "MPA", 90000},
	15: {15, "G728", 8000},
	16: {16, "DVI4", 11025},
	17: {17, "DVI4", 22050},
	18: {18, "G729", 8000},
}

// ParseSDP extracts the first RTP audio stream of an SDP body. Errors wrap
// ErrBadSDP or ErrNoAudio.
func ParseSDP(b []byte) (d Description, err error) {
	if len(b) > MaxSDPSize {
		return Description{}, fmt.Errorf("%w: %d bytes, limit %d", ErrBadSDP, len(b), MaxSDPSize)
	}
	if !bytes.HasPrefix(b, []byte("v=")) {
		// RFC 4566 5: v= is the first line.
		return Description{}, fmt.Errorf("%w: does not start with v=", ErrBadSDP)
	}
	var sd sdp.SessionDescription
	if err := unmarshalSDP(&sd, b); err != nil {
		return Description{}, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	d.audio = -1
	for i, md := range sd.MediaDescriptions {
		d.mlines = append(d.mlines, mline{media: md.MediaName.Media, protos: md.MediaName.Protos, formats: md.MediaName.Formats})
		if d.audio < 0 && md.MediaName.Media == "audio" && isPlainRTP(md.MediaName.Protos) {
			d.audio = i
		}
	}
	if d.audio < 0 {
		return Description{}, ErrNoAudio
	}
	md := sd.MediaDescriptions[d.audio]
	d.Port = uint16(md.MediaName.Port.Value) // pion checks 0..65535

	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci != nil && ci.Address != nil {
		a, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL, RFC 4566 5.7
		addr, perr := netip.ParseAddr(a)
		if perr != nil {
			// A host name is allowed by RFC 4566 but we do not resolve names
			// on the media path.
			return Description{}, fmt.Errorf("%w: connection address %q", ErrBadSDP, a)
		}
		d.Addr = addr.Unmap()
	} else if d.Port != 0 {
		return Description{}, fmt.Errorf("%w: no c= for the audio stream", ErrBadSDP)
	}

	seen := make(map[uint8]bool, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, perr := strconv.ParseUint(f, 10, 7)
		if perr != nil {
			return Description{}, fmt.Errorf("%w: RTP format %q", ErrBadSDP, f)
		}
		if seen[uint8(pt)] {
			continue
		}
		seen[uint8(pt)] = true
		c, ok := rtpmap(md, uint8(pt))
		if !ok {
			c = staticPTs[uint8(pt)] // dynamic without rtpmap: name stays empty
			c.PT = uint8(pt)
		}
		d.Codecs = append(d.Codecs, c)
		if d.TelephoneEvent == 0 && c.Name == codecTE && c.Rate == 8000 {
			d.TelephoneEvent = c.PT
		}
	}

	if d.Port != 0 {
		d.RTCPPort = d.Port + 1
	}
	if v, ok := md.Attribute("rtcp"); ok { // RFC 3605
		p, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if n, perr := strconv.ParseUint(p, 10, 16); perr == nil && n != 0 {
			d.RTCPPort = uint16(n)
		}
	}

	d.Direction = direction(md.Attributes, direction(sd.Attributes, Sendrecv))
	d.Ptime = ptime(md.Attributes, ptime(sd.Attributes, 0))
	return d, nil
}

// unmarshalSDP runs pion's parser behind a recover: SDP comes from anyone on
// the internet and a parser bug must cost one call, not the gateway.
func unmarshalSDP(sd *sdp.SessionDescription, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panic: %v", r)
		}
	}()
	return sd.Unmarshal(b)
}

// isPlainRTP reports whether the m= proto is RTP/AVP or RTP/AVPF, the
// profiles this relay speaks (no SRTP, no DTLS).
func isPlainRTP(protos []string) bool {
	if len(protos) != 2 || protos[0] != "RTP" {
		return false
	}
	return protos[1] == "AVP" || protos[1] == "AVPF"
}

// rtpmap finds "a=rtpmap:<pt> <name>/<rate>[/<channels>]" (RFC 4566 6).
func rtpmap(md *sdp.MediaDescription, pt uint8) (Codec, bool) {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		p, rest, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 7)
		if err != nil || uint8(n) != pt {
			continue
		}
		parts := strings.Split(strings.TrimSpace(rest), "/")
		c := Codec{PT: pt, Name: strings.ToUpper(parts[0])}
		if len(parts) > 1 {
			r, err := strconv.ParseUint(parts[1], 10, 32)
			if err == nil {
				c.Rate = uint32(r)
			}
		}
		if len(parts) > 2 && parts[2] != "1" {
			// Multi-channel audio is a different format from the mono
			// codec of the same name; keep it out of our choices.
			c.Name += "/" + parts[2]
		}
		return c, true
	}
	return Codec{}, false
}

func direction(attrs []sdp.Attribute, def Direction) Direction {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv":
			return Sendrecv
		case "sendonly":
			return Sendonly
		case "recvonly":
			return Recvonly
		case "inactive":
			return Inactive
		}
	}
	return def
}

func ptime(attrs []sdp.Attribute, def int) int {
	for _, a := range attrs {
		if a.Key != "ptime" {
			continue
		}
		// Some phones write "20.0"; the fraction never matters for G.711.
		v, _, _ := strings.Cut(strings.TrimSpace(a.Value), ".")
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 1000 {
			return n
		}
	}
	return def
}

package media

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpLines joins lines with CRLF (RFC 4566 5).
func sdpLines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

var sdpHead = []string{"v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-"}

func sdpBody(lines ...string) []byte {
	return sdpLines(append(append([]string{}, sdpHead...), lines...)...)
}

// exported returns d without the unexported m= line bookkeeping.
func exported(d Description) Description {
	d.mlines, d.audio = nil, 0
	return d
}

func TestParseSDP(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		body []byte
		want Description
		err  error
	}{
		{
			name: "static types without rtpmap",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0 8"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001,
				Codecs: []Codec{{0, "PCMU", 8000}, {8, "PCMA", 8000}}},
		},
		{
			name: "dynamic types from rtpmap, telephone-event, ptime",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 8 96 0 101",
				"a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001,
				Codecs:         []Codec{{8, "PCMA", 8000}, {96, "OPUS/2", 48000}, {0, "PCMU", 8000}, {101, "TELEPHONE-EVENT", 8000}},
				TelephoneEvent: 101, Ptime: 20},
		},
		{
			name: "media c= over session c=, a=rtcp",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7", "a=rtcp:5007 IN IP4 198.51.100.7"),
			want: Description{Addr: ip("198.51.100.7"), Port: 4000, RTCPPort: 5007, Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{
			name: "IPv6",
			body: sdpBody("c=IN IP6 2001:db8::1", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			want: Description{Addr: ip("2001:db8::1"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{
			name: "session-level sendonly",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "a=sendonly", "m=audio 4000 RTP/AVP 0"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}, Direction: Sendonly},
		},
		{
			name: "media-level direction wins",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "a=sendonly", "m=audio 4000 RTP/AVP 0", "a=inactive"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}, Direction: Inactive},
		},
		{
			name: "recvonly",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=recvonly"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}, Direction: Recvonly},
		},
		{
			name: "hold with 0.0.0.0",
			body: sdpBody("c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			want: Description{Addr: ip("0.0.0.0"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{
			name: "video first, then audio",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
				"m=audio 4000 RTP/AVP 0", "a=sendrecv"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{
			name: "rejected audio stream",
			body: sdpBody("t=0 0", "m=audio 0 RTP/AVP 0"),
			want: Description{Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{
			name: "dynamic type without rtpmap",
			body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 97 0"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{97, "", 0}, {0, "PCMU", 8000}}},
		},
		{
			name: "LF line endings",
			body: []byte("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\nm=audio 4000 RTP/AVP 0\n"),
			want: Description{Addr: ip("192.0.2.10"), Port: 4000, RTCPPort: 4001, Codecs: []Codec{{0, "PCMU", 8000}}},
		},
		{name: "missing c=", body: sdpBody("t=0 0", "m=audio 4000 RTP/AVP 0"), err: ErrBadSDP},
		{name: "host name in c=", body: sdpBody("c=IN IP4 pbx.example.com", "t=0 0", "m=audio 4000 RTP/AVP 0"), err: ErrBadSDP},
		{name: "non-numeric format", body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP x"), err: ErrBadSDP},
		{name: "format out of range", body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 128"), err: ErrBadSDP},
		{name: "video only", body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=video 5000 RTP/AVP 96"), err: ErrNoAudio},
		{name: "SRTP audio only", body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/SAVP 0"), err: ErrNoAudio},
		{name: "no media", body: sdpBody("c=IN IP4 192.0.2.10", "t=0 0"), err: ErrNoAudio},
		{name: "garbage", body: []byte("hello world\r\n"), err: ErrBadSDP},
		{name: "empty", body: nil, err: ErrBadSDP},
		{name: "too large", body: append(sdpBody("c=IN IP4 192.0.2.10", "t=0 0", "m=audio 4000 RTP/AVP 0"), make([]byte, MaxSDPSize)...), err: ErrBadSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP(tt.body)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(exported(got), tt.want) {
				t.Errorf("got  %+v\nwant %+v", exported(got), tt.want)
			}
		})
	}
}

func TestOnHold(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		d    Description
		want bool
	}{
		{Description{Addr: ip}, false},
		{Description{Addr: ip, Direction: Recvonly}, false},
		{Description{Addr: ip, Direction: Sendonly}, true},
		{Description{Addr: ip, Direction: Inactive}, true},
		{Description{Addr: netip.IPv4Unspecified()}, true},
	}
	for _, tt := range tests {
		if got := tt.d.OnHold(); got != tt.want {
			t.Errorf("%+v.OnHold() = %v", tt.d, got)
		}
	}
}

func TestAnswerable(t *testing.T) {
	for _, tt := range []struct {
		codecs []Codec
		ok     bool
	}{
		{[]Codec{{PT: 0, Name: "PCMU", Rate: 8000}}, true},
		{[]Codec{{PT: 111, Name: "OPUS", Rate: 48000}, {PT: 8, Name: "PCMA", Rate: 8000}}, true},
		{[]Codec{{PT: 111, Name: "OPUS", Rate: 48000}}, false},
		{[]Codec{{PT: 101, Name: "TELEPHONE-EVENT", Rate: 8000}}, false},
		{nil, false},
	} {
		err := Description{Codecs: tt.codecs}.Answerable()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNoCommonCodec)) {
			t.Errorf("%v: Answerable = %v, want ok %v", tt.codecs, err, tt.ok)
		}
	}
}

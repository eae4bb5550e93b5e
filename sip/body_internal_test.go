package sip

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

const testSDP = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

// multipartBody joins parts (each its headers, a blank line and content)
// under boundary b (RFC 2046 5.1.1).
func multipartBody(b string, parts ...string) string {
	var s strings.Builder
	for _, p := range parts {
		s.WriteString("--" + b + "\r\n" + p + "\r\n")
	}
	s.WriteString("--" + b + "--\r\n")
	return s.String()
}

func TestSessionBody(t *testing.T) {
	sdpPart := "Content-Type: application/sdp\r\n\r\n" + testSDP
	isup := "Content-Type: application/ISUP; version=itu-t92+\r\nContent-Disposition: signal; handling=optional\r\n\r\n\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10"
	tests := []struct {
		name, ctype, body string
		headers           []string
		want              string // the SDP found
		code              int    // or the answer
	}{
		{name: "no body", ctype: "application/sdp"},
		{name: "sdp", ctype: "application/sdp", body: testSDP, want: testSDP},
		{name: "sdp with parameters and case", ctype: "Application/SDP; charset=utf-8", body: testSDP, want: testSDP},
		{name: "text", ctype: "text/plain", body: "hello", code: 415},
		{name: "unreadable type", ctype: "garbage", body: testSDP, code: 415},
		{name: "no Content-Type", body: testSDP, code: 400},
		{name: "gzip", ctype: "application/sdp", body: testSDP, headers: []string{"Content-Encoding: gzip"}, code: 415},
		{name: "identity encoding", ctype: "application/sdp", body: testSDP, headers: []string{"Content-Encoding: identity"}, want: testSDP},
		{name: "multipart with sdp and isup", ctype: "multipart/mixed;boundary=unique-boundary-1",
			body: multipartBody("unique-boundary-1", sdpPart, isup), want: testSDP},
		{name: "multipart, sdp second, disposition session", ctype: `multipart/mixed; boundary="b 2"`,
			body: multipartBody("b 2", isup, "Content-Type: application/sdp\r\nContent-Disposition: session\r\n\r\n"+testSDP), want: testSDP},
		{name: "multipart/mixed with two sdp parts takes the first", ctype: "multipart/mixed;boundary=x",
			body: multipartBody("x", sdpPart, "Content-Type: application/sdp\r\n\r\nv=0 second\r\n"), want: testSDP},
		{name: "multipart without sdp", ctype: "multipart/mixed;boundary=x",
			body: multipartBody("x", isup), code: 415},
		{name: "multipart with early-session sdp only", ctype: "multipart/mixed;boundary=x",
			body: multipartBody("x", "Content-Type: application/sdp\r\nContent-Disposition: early-session\r\n\r\n"+testSDP), code: 415},
		{name: "multipart with a required part we do not read", ctype: "multipart/mixed;boundary=x",
			body: multipartBody("x", sdpPart, "Content-Type: application/resource-lists+xml\r\nContent-Disposition: recipient-list; handling=required\r\n\r\n<x/>"), code: 415},
		{name: "multipart without boundary", ctype: "multipart/mixed", body: multipartBody("x", sdpPart), code: 415},
		{name: "multipart with the wrong boundary", ctype: "multipart/mixed;boundary=y", body: multipartBody("x", sdpPart), code: 415},
		{name: "multipart, base64 sdp part", ctype: "multipart/mixed;boundary=x",
			body: multipartBody("x", "Content-Type: application/sdp\r\nContent-Transfer-Encoding: base64\r\n\r\ndj0wDQpvPS0gMSAxIElOIElQNCAxOTIuMC4yLjENCnM9LQ0KYz1JTiBJUDQgMTkyLjAuMi4xDQp0\r\nPTAgMA0KbT1hdWRpbyA0MDAwIFJUUC9BVlAgMA0K"),
			want: testSDP},
		{name: "nested multipart", ctype: "multipart/mixed;boundary=outer",
			body: multipartBody("outer", isup, "Content-Type: multipart/alternative;boundary=inner\r\n\r\n"+
				multipartBody("inner", "Content-Type: application/sdp\r\n\r\nv=0 first\r\n", sdpPart)), want: testSDP},
		{name: "nested three deep", ctype: "multipart/mixed;boundary=a",
			body: multipartBody("a", "Content-Type: multipart/mixed;boundary=b\r\n\r\n"+multipartBody("b",
				"Content-Type: multipart/mixed;boundary=c\r\n\r\n"+multipartBody("c", sdpPart))), want: testSDP},
		{name: "nested too deep", ctype: "multipart/mixed;boundary=a",
			body: multipartBody("a", "Content-Type: multipart/mixed;boundary=b\r\n\r\n"+multipartBody("b",
				"Content-Type: multipart/mixed;boundary=c\r\n\r\n"+multipartBody("c",
					"Content-Type: multipart/mixed;boundary=d\r\n\r\n"+multipartBody("d", sdpPart)))), code: 415},
		{name: "multipart/related", ctype: "multipart/related;boundary=x", body: multipartBody("x", sdpPart), code: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "+15125550100", Host: "192.0.2.9"})
			if tt.ctype != "" {
				req.AppendHeader(gosip.NewHeader("Content-Type", tt.ctype))
			}
			for _, h := range tt.headers {
				name, value, _ := strings.Cut(h, ": ")
				req.AppendHeader(gosip.NewHeader(name, value))
			}
			req.SetBody([]byte(tt.body))
			got, err := sessionBody(req)
			if tt.code != 0 {
				if code, _ := statusFor(err); code != tt.code {
					t.Fatalf("got %d (%v), want %d", code, err, tt.code)
				}
				if tt.code == 415 && !strings.Contains(responseHeaders(err), "Accept") {
					t.Errorf("415 without Accept or Accept-Encoding: %s", responseHeaders(err))
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// responseHeaders lists the header names a decision adds.
func responseHeaders(err error) string {
	r, ok := err.(*reply)
	if !ok {
		return ""
	}
	var names []string
	for _, h := range r.headers {
		names = append(names, h.Name())
	}
	return strings.Join(names, ",")
}

// FuzzSessionBody: no body a peer sends makes the reader fail other than
// with 400 or 415, and what it finds is part of what was sent.
func FuzzSessionBody(f *testing.F) {
	f.Add("application/sdp", testSDP)
	f.Add("multipart/mixed;boundary=x", multipartBody("x", "Content-Type: application/sdp\r\n\r\n"+testSDP))
	f.Add("multipart/mixed;boundary=x", "--x\r\nContent-Type: multipart/mixed;boundary=x\r\n\r\n--x--")
	f.Add("text/plain", "hi")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", Host: "192.0.2.9"})
		req.AppendHeader(gosip.NewHeader("Content-Type", ctype))
		req.SetBody([]byte(body))
		got, err := sessionBody(req)
		if err != nil {
			if code, _ := statusFor(err); code != 400 && code != 415 {
				t.Fatalf("answered %d", code)
			}
			return
		}
		if len(got) > len(body) && !strings.Contains(strings.ToLower(body), "base64") {
			t.Fatalf("found %d bytes in a body of %d", len(got), len(body))
		}
	})
}

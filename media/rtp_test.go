package media

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

func TestRTPPayload(t *testing.T) {
	hdr := func(b0 byte, extra ...byte) []byte {
		return append([]byte{b0, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}, extra...)
	}
	tests := []struct {
		name string
		pkt  []byte
		want []byte
		ok   bool
	}{
		{"plain", hdr(0x80, 9, 9), []byte{9, 9}, true},
		{"empty payload", hdr(0x80), []byte{}, true},
		{"one CSRC", hdr(0x81, 0, 0, 0, 7, 5), []byte{5}, true},
		{"extension", hdr(0x90, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 6), []byte{6}, true},
		{"padding", hdr(0xa0, 7, 7, 0, 2), []byte{7, 7}, true},
		{"version 1", hdr(0x40, 1), nil, false},
		{"short", []byte{0x80, 0, 0}, nil, false},
		{"CSRC beyond end", hdr(0x8f), nil, false},
		{"extension beyond end", hdr(0x90, 0xbe, 0xde, 0, 9), nil, false},
		{"padding beyond end", hdr(0xa0, 200), nil, false},
		{"zero padding", hdr(0xa0, 1, 0), nil, false},
	}
	for _, tt := range tests {
		got, ok := rtpPayload(tt.pkt)
		if ok != tt.ok || (ok && !bytes.Equal(got, tt.want)) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzRTPPayload: the in-place header parser never panics, and agrees with
// pion's parser on the payload of every packet both accept.
func FuzzRTPPayload(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 9})
	f.Add([]byte{0xb1, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 6, 1})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		got, ok := rtpPayload(pkt)
		if !ok {
			return
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), pkt...)); err == nil && !bytes.Equal(p.Payload, got) {
			t.Fatalf("payload %x, pion %x", got, p.Payload)
		}
	})
}

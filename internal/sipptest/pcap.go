package sipptest

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// FrameMicros is the duration of one packet of a written capture, in
// microseconds (20 ms, 160 samples at 8 kHz).
const FrameMicros = 20000

// WriteRTPPcap writes one RTP stream as a classic libpcap capture
// (LINKTYPE_ETHERNET; Ethernet, IPv4, UDP, RTP), the form SIPp's
// play_pcap_audio replays: it reads the UDP datagrams of IPv4 packets
// (by the UDP length field, and only packets whose captured length is
// their full length), rewrites addresses and ports, and paces them by
// the gaps between the record timestamps. Each payload is one packet,
// 20 ms after the one before, with payload type pt, one SSRC, sequence
// numbers and RTP timestamps (160 per packet) counting up, and the
// marker bit on the first.
func WriteRTPPcap(t testing.TB, path string, pt uint8, ssrc uint32, payloads [][]byte) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	// Global header: magic (microsecond timestamps), version 2.4, UTC,
	// snap length, link type 1 (Ethernet).
	for _, v := range []any{uint32(0xa1b2c3d4), uint16(2), uint16(4), int32(0), uint32(0), uint32(65535), uint32(1)} {
		_ = binary.Write(&b, le, v)
	}
	// The first record is not at time zero: SIPp takes an unset time for
	// "no packet sent yet".
	const start = 1_700_000_000 * 1_000_000
	for i, payload := range payloads {
		ts := uint32(i * 160)
		if pt == EventPT {
			// RFC 4733 2.5.1.2: every packet of one event carries the
			// event's start time; its duration grows.
			ts = 0
		}
		pkt := rtpEthernetFrame(uint16(i), ts, ssrc, pt, i == 0, payload)
		at := start + int64(i)*FrameMicros
		for _, v := range []uint32{uint32(at / 1_000_000), uint32(at % 1_000_000), uint32(len(pkt)), uint32(len(pkt))} {
			_ = binary.Write(&b, le, v)
		}
		b.Write(pkt)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rtpEthernetFrame is one RTP packet from 10.0.0.1:4000 to 10.0.0.2:5000
// in UDP, IPv4 (with its header checksum) and Ethernet.
func rtpEthernetFrame(seq uint16, ts, ssrc uint32, pt uint8, marker bool, payload []byte) []byte {
	be := binary.BigEndian
	rtp := make([]byte, 12, 12+len(payload))
	rtp[0], rtp[1] = 0x80, pt
	if marker {
		rtp[1] |= 0x80
	}
	be.PutUint16(rtp[2:], seq)
	be.PutUint32(rtp[4:], ts)
	be.PutUint32(rtp[8:], ssrc)
	rtp = append(rtp, payload...)

	udp := make([]byte, 8, 8+len(rtp))
	be.PutUint16(udp[0:], 4000)
	be.PutUint16(udp[2:], 5000)
	be.PutUint16(udp[4:], uint16(8+len(rtp)))
	// Checksum 0: none (RFC 768); SIPp computes its own when sending.
	udp = append(udp, rtp...)

	ip := make([]byte, 20, 20+len(udp))
	ip[0] = 0x45 // version 4, 5 words of header
	be.PutUint16(ip[2:], uint16(20+len(udp)))
	be.PutUint16(ip[4:], seq) // identification
	be.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = 64, 17 // TTL, UDP
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	be.PutUint16(ip[10:], IPChecksum(ip))
	ip = append(ip, udp...)

	eth := make([]byte, 14, 14+len(ip))
	copy(eth, []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}) // destination, source
	be.PutUint16(eth[12:], 0x0800)
	return append(eth, ip...)
}

// IPChecksum is the Internet checksum of an IPv4 header (RFC 791): 0 for
// a header whose checksum field is right.
func IPChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// EventPT is the telephone-event payload type the test phones offer.
const EventPT = 101

// DigitEvents are the RFC 4733 packets of one key press of digit (0-9):
// 200 ms of the event, then its end three times (RFC 4733 2.5.1.4).
func DigitEvents(digit byte) [][]byte {
	var out [][]byte
	for i := 1; i <= 10; i++ {
		dur := uint16(i * 160)
		flags := byte(10) // volume -10 dBm0
		if i > 7 {
			flags |= 0x80 // E: the end
			dur = 7 * 160
		}
		out = append(out, []byte{digit, flags, byte(dur >> 8), byte(dur)})
	}
	return out
}

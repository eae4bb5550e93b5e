package sipptest_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/teamline/teamline/internal/sipptest"
)

// The capture reads back as what play_pcap_audio expects: the libpcap
// header, then per record a full-length capture of an IPv4 UDP packet
// whose lengths agree, 20 ms apart, carrying the RTP packet.
func TestWriteRTPPcap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.pcap")
	payloads := [][]byte{bytes.Repeat([]byte{1}, 160), bytes.Repeat([]byte{2}, 160), bytes.Repeat([]byte{3}, 160)}
	sipptest.WriteRTPPcap(t, path, 0, 0x1234, payloads)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le, be := binary.LittleEndian, binary.BigEndian
	if le.Uint32(b) != 0xa1b2c3d4 || le.Uint16(b[4:]) != 2 || le.Uint16(b[6:]) != 4 || le.Uint32(b[20:]) != 1 {
		t.Fatalf("global header % x", b[:24])
	}
	off, prev := 24, int64(-1)
	for i, want := range payloads {
		if off+16 > len(b) {
			t.Fatalf("record %d missing", i)
		}
		at := int64(le.Uint32(b[off:]))*1_000_000 + int64(le.Uint32(b[off+4:]))
		incl, orig := int(le.Uint32(b[off+8:])), int(le.Uint32(b[off+12:]))
		if at == 0 || (prev >= 0 && at-prev != sipptest.FrameMicros) || incl != orig {
			t.Fatalf("record %d: time %d (previous %d), lengths %d/%d", i, at, prev, incl, orig)
		}
		prev = at
		pkt := b[off+16 : off+16+incl]
		off += 16 + incl
		ip := pkt[14:]
		if be.Uint16(pkt[12:]) != 0x0800 || ip[0] != 0x45 || ip[9] != 17 || int(be.Uint16(ip[2:])) != len(ip) || sipptest.IPChecksum(ip[:20]) != 0 {
			t.Fatalf("record %d: not a well-formed IPv4 UDP packet: % x", i, pkt[:34])
		}
		udp := ip[20:]
		if int(be.Uint16(udp[4:])) != len(udp) {
			t.Fatalf("record %d: UDP length %d, datagram %d bytes", i, be.Uint16(udp[4:]), len(udp))
		}
		rtp := udp[8:]
		marker := rtp[1]&0x80 != 0
		if rtp[0] != 0x80 || rtp[1]&0x7f != 0 || marker != (i == 0) || be.Uint16(rtp[2:]) != uint16(i) ||
			be.Uint32(rtp[4:]) != uint32(160*i) || be.Uint32(rtp[8:]) != 0x1234 || !bytes.Equal(rtp[12:], want) {
			t.Fatalf("record %d: RTP % x", i, rtp[:12])
		}
	}
	if off != len(b) {
		t.Errorf("%d bytes after the last record", len(b)-off)
	}
}

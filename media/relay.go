package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
)

// readBufSize is larger than any RTP packet a G.711 phone sends (a 172-byte
// packet at 20 ms) and than a typical path MTU; a datagram that fills it may
// have been cut by the kernel and is dropped as malformed.
const readBufSize = 2048

// relayRTP reads RTP from the side in faces and sends it on toward the side
// out faces. One goroutine per socket (Config.GoroutineRelay); it ends when
// Close closes the socket.
func (b *Bridge) relayRTP(in, out *leg) {
	defer b.wg.Done()
	var buf [readBufSize]byte
	conn := in.rtp.(goConn)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		b.onRTP(in, out, buf[:n], src)
	}
}

// onRTP handles one datagram that arrived on in's RTP socket from src.
func (b *Bridge) onRTP(in, out *leg, pkt []byte, src netip.AddrPort) {
	c := &in.rtpIn
	c.pkts.Add(1)
	c.bytes.Add(uint64(len(pkt)))
	if !b.started.Load() {
		c.drop(dropNotStarted)
		return
	}
	if reason := b.relayPacket(in, out, pkt, src); reason != dropNone {
		c.drop(reason)
	}
}

// relayPacket handles one RTP packet from in's side. It returns why the
// packet was dropped, or dropNone.
func (b *Bridge) relayPacket(in, out *leg, pkt []byte, src netip.AddrPort) dropReason {
	payload, ok := rtpPayload(pkt)
	if !ok || len(pkt) == readBufSize {
		return dropMalformed
	}
	pt := pkt[1] & 0x7f
	r := in.route.Load()
	act := r.act[pt]
	if act == actUnknown {
		return dropUnknownPT
	}
	in.latch(&in.latchRTP, src, b, "rtp")
	if r.kind[pt] != kindNone {
		b.tap(in, r, pt, pkt, payload)
	}
	switch act {
	case actNoTE:
		return dropNoTelephoneEvent
	case actNoRemote:
		return dropNoRemote
	}
	if in.relayOff.Load() || out.player.Load() != 0 {
		return dropNone // heard by the taps, not by the other side
	}
	dst, ok := out.target(&out.latchRTP, false)
	if !ok {
		return dropNoRemote
	}
	var samples uint32
	switch act {
	case actPassAudio:
		samples = uint32(len(payload)) // G.711: one byte per sample
	case actUlawToAlaw:
		transcode(payload, &ulawToAlaw)
		samples = uint32(len(payload))
		in.rtpIn.transcoded.Add(1)
	case actAlawToUlaw:
		transcode(payload, &alawToUlaw)
		samples = uint32(len(payload))
		in.rtpIn.transcoded.Add(1)
	}
	if err := out.w.relay(pkt, r.pt[pt], samples, dst); err != nil {
		return dropSendError
	}
	in.rtpIn.fwdPkts.Add(1)
	in.rtpIn.fwdBytes.Add(uint64(len(pkt)))
	return dropNone
}

// relayRTCP carries RTCP unchanged from in's side to out's side, latched
// like RTP. One goroutine per socket, as relayRTP.
func (b *Bridge) relayRTCP(in, out *leg) {
	defer b.wg.Done()
	var buf [readBufSize]byte
	conn := in.rtcp.(goConn)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		b.onRTCP(in, out, buf[:n], src)
	}
}

// onRTCP handles one datagram that arrived on in's RTCP socket from src.
func (b *Bridge) onRTCP(in, out *leg, pkt []byte, src netip.AddrPort) {
	c := &in.rtcpIn
	n := len(pkt)
	c.pkts.Add(1)
	c.bytes.Add(uint64(n))
	if !b.started.Load() {
		c.drop(dropNotStarted)
		return
	}
	// RFC 3550 6.4: version 2, and a compound packet starts with a
	// header of at least 8 bytes.
	if n < 8 || n == readBufSize || pkt[0]>>6 != 2 {
		c.drop(dropMalformed)
		return
	}
	in.latch(&in.latchRTCP, src, b, "rtcp")
	dst, ok := out.target(&out.latchRTCP, true)
	if !ok {
		c.drop(dropNoRemote)
		return
	}
	if _, err := out.rtcp.WriteToUDPAddrPort(pkt, dst); err != nil {
		c.drop(dropSendError)
		return
	}
	c.fwdPkts.Add(1)
	c.fwdBytes.Add(uint64(n))
}

// latch records src as the address of l's side (symmetric RTP, RFC 4961):
// the first valid packet after the side's SDP address was set wins. Packets
// from other sources are still relayed, but do not move the latch; a new SDP
// address (re-INVITE) starts a new latch.
func (l *leg) latch(p *atomic.Pointer[latch], src netip.AddrPort, b *Bridge, what string) {
	d := l.dest.Load()
	if d == nil || !d.valid {
		// No SDP address (or a hold with 0.0.0.0): the side said it wants
		// no media, so what arrives does not tell us where to send.
		return
	}
	if cur := p.Load(); cur != nil && cur.gen == d.gen {
		return
	}
	p.Store(&latch{addr: src, gen: d.gen})
	b.log.Debug("media latched", "leg", l.side.String(), "stream", what, "addr", src, "sdp", d.rtp)
}

// target returns where to send toward l's side: the latched source, else
// the SDP address.
func (l *leg) target(p *atomic.Pointer[latch], rtcp bool) (netip.AddrPort, bool) {
	d := l.dest.Load()
	if d == nil || !d.valid {
		return netip.AddrPort{}, false
	}
	if cur := p.Load(); cur != nil && cur.gen == d.gen {
		return cur.addr, true
	}
	if rtcp {
		return d.rtcp, true
	}
	return d.rtp, true
}

// rtpPayload checks the fixed RTP header (RFC 3550 5.1) in place and
// returns the payload without header, CSRCs, extension and padding.
func rtpPayload(p []byte) ([]byte, bool) {
	if len(p) < 12 || p[0]>>6 != 2 {
		return nil, false
	}
	off := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 { // extension (RFC 3550 5.3.1)
		if len(p) < off+4 {
			return nil, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(p[off+2:]))
	}
	end := len(p)
	if p[0]&0x20 != 0 { // padding: the last byte counts it
		if end == 0 {
			return nil, false
		}
		pad := int(p[end-1])
		if pad == 0 {
			return nil, false
		}
		end -= pad
	}
	if off > end {
		return nil, false
	}
	return p[off:end], true
}

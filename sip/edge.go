package sip

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/sip/intake"
)

// edge puts every message read from a listener through the intake check
// (docs/SIP-EDGE.md) before sipgo parses it: the UDP listener's reads in
// servingPacketConn, accepted TCP and TLS connections' in streamConn. sipgo
// sees only messages that passed, in plain form; refused ones are answered
// here, on the socket they came from, or dropped, and counted.
type edge struct {
	check    *intake.Checker
	log      *slog.Logger
	rejected *prometheus.CounterVec

	mu      sync.Mutex
	streams map[string]*intake.Stream // connections the gateway dialed, by local and remote address
}

// maxDialedStreams bounds the framers of dialed connections; sipgo does
// not say when one closes, so past the bound they are forgotten together
// (a message split across that moment is refused, and the peer resends).
const maxDialedStreams = 1024

func newEdge(limits intake.Limits, server string, log *slog.Logger) *edge {
	return &edge{
		check: intake.NewChecker(limits, server),
		log:   log,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teamline_sip_intake_rejected_total",
			Help: "SIP messages refused by the intake check, by reason and action (answered with a 4xx/5xx, or dropped when no answer can or may be sent).",
		}, []string{"reason", "action"}),
		streams: make(map[string]*intake.Stream),
	}
}

// dialed checks what a connection the gateway opened (to a trunk over TCP
// or TLS) read: the messages that passed, in plain form, one after the
// other. Refusals are dropped and counted, not answered: the filter cannot
// write to the connection, and the peer is a trunk the operator set up.
func (e *edge) dialed(p gosip.TransportReadProps, data []byte) []byte {
	key := addrString(p.LocalAddr) + "|" + addrString(p.RemoteAddr)
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.streams[key]
	if st == nil {
		if len(e.streams) >= maxDialedStreams {
			clear(e.streams)
		}
		st = e.check.NewStream(addrPort(p.RemoteAddr))
		e.streams[key] = st
	}
	st.Feed(data)
	var out []byte
	for {
		f, ok := st.Next(out)
		if !ok {
			return out
		}
		switch {
		case f.Rejected != nil:
			f.Rejected.Reply = nil
			e.refused(f.Rejected, strings.ToLower(p.Transport), p.RemoteAddr)
			if f.Rejected.Close {
				delete(e.streams, key)
				return out
			}
		case f.Msg != nil:
			out = f.Msg
		}
	}
}

// refused counts and logs one refusal. Debug: scanners send plenty.
func (e *edge) refused(r *intake.Rejection, transport string, from net.Addr) {
	e.rejected.WithLabelValues(r.Label, r.Action()).Inc()
	e.log.Debug("sip message refused at intake", "transport", transport, "source", addrString(from),
		"status", r.Code, "reason", r.Reason, "fault", r.Detail)
}

// addrPort is the IP and port of a UDP or TCP address; invalid otherwise.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// datagram checks one UDP datagram read into in. It returns the message to
// hand to sipgo, appended to dst, or ok false when there is none (refused,
// answered from here, or only a keepalive).
func (e *edge) datagram(pc net.PacketConn, in []byte, from net.Addr, dst []byte) (out []byte, ok bool) {
	src := addrPort(from)
	out, rej := e.check.Check(in, src, true, dst)
	if rej == nil && out != nil && len(out) > cap(dst) {
		// The plain form grew past sipgo's read buffer (compact headers
		// written out in full): too large after all.
		rej = e.check.TooLarge(in, src)
	}
	if rej == nil {
		return out, out != nil
	}
	e.refused(rej, "udp", from)
	if rej.Reply != nil {
		// RFC 3261 18.2.2 and RFC 3581: to the source address, at the
		// source port when the Via asks for rport, else the Via's port.
		to, isUDP := from.(*net.UDPAddr)
		if isUDP {
			dest := *to
			if !rej.RPort {
				dest.Port = rej.ViaPort
			}
			if _, err := pc.WriteTo(rej.Reply, &dest); err != nil {
				e.log.Warn("sip intake answer not sent", "to", dest.String(), "status", rej.Code, "error", err)
			}
		}
	}
	return nil, false
}

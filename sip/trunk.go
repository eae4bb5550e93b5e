package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

// Trunk is a SIP trunk to a carrier, as the B2BUA uses it.
type Trunk struct {
	Name      string
	Proxy     string // host:port
	Transport string // udp, tcp or tls
	// Username and Password answer the carrier's 401/407 challenges and
	// register (Register) with it.
	Username, Password string
	Register           bool
	RegisterExpires    time.Duration
	// Inbound lists the carrier's source networks: requests from them are
	// this trunk's without authentication.
	Inbound []netip.Prefix
	// InboundUsername and InboundPassword: a request from elsewhere that
	// authenticates with these is this trunk's.
	InboundUsername, InboundPassword string
	FromDomain                       string // host of From on outbound calls; default the proxy host
	CallerIDFormat                   string // e164, e164_no_plus or national
	Outbound                         bool   // carries outbound calls, in list order

	host string
	port int
	// inboundHA1 is InboundPassword as digest HA1 values under the
	// server's realm, derived once in NewServer.
	inboundHA1 directory.SIPCredential
}

func (t *Trunk) normalize() error {
	host, port, err := net.SplitHostPort(t.Proxy)
	if err != nil {
		return fmt.Errorf("sip: trunk %q: proxy %q: want host:port", t.Name, t.Proxy)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("sip: trunk %q: proxy port %q", t.Name, port)
	}
	t.host, t.port = host, p
	t.Transport = strings.ToLower(t.Transport)
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.FromDomain == "" {
		t.FromDomain = host
	}
	if t.CallerIDFormat == "" {
		t.CallerIDFormat = "e164"
	}
	if t.RegisterExpires <= 0 {
		t.RegisterExpires = time.Hour
	}
	return nil
}

// fromSource reports whether addr is one of the trunk's source networks.
func (t *Trunk) fromSource(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t.Inbound {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// callerID formats an E.164 number as the trunk wants it in From.
func (t *Trunk) callerID(e164 string) string {
	switch t.CallerIDFormat {
	case "e164_no_plus":
		return strings.TrimPrefix(e164, "+")
	case "national":
		if strings.HasPrefix(e164, "+1") && len(e164) == 12 {
			return e164[2:]
		}
		return strings.TrimPrefix(e164, "+")
	}
	return e164
}

// trunkBySource returns the trunk whose source networks hold addr.
func (b *Backend) trunkBySource(addr netip.Addr) *Trunk {
	for i := range b.Trunks {
		if b.Trunks[i].fromSource(addr) {
			return &b.Trunks[i]
		}
	}
	return nil
}

// trunkByInboundUser returns the trunk that authenticates as username.
func (b *Backend) trunkByInboundUser(username string) *Trunk {
	for i := range b.Trunks {
		if t := &b.Trunks[i]; t.InboundUsername != "" && t.InboundUsername == username {
			return t
		}
	}
	return nil
}

// outboundTrunks lists the trunks for outbound calls in failover order; a
// number bound to a trunk (Number.Trunk) puts that trunk first.
func (b *Backend) outboundTrunks(prefer string) []*Trunk {
	var out []*Trunk
	for i := range b.Trunks {
		t := &b.Trunks[i]
		if !t.Outbound {
			continue
		}
		if t.Name == prefer {
			out = append([]*Trunk{t}, out...)
		} else {
			out = append(out, t)
		}
	}
	return out
}

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/sip"
)

// directoryCacheTTL bounds how long a gateway keeps using settings and
// numbers that another gateway on the same database has changed; its own
// changes count at once.
const directoryCacheTTL = 2 * time.Second

// sipBackend wires the registrar and the B2BUA: the directory, the router,
// the media engine and the store's contacts and call records.
func (a *app) sipBackend() (sip.Backend, error) {
	cfg := a.cfg
	phones, err := directory.NewPhones(cfg.Phone.DefaultRegion)
	if err != nil {
		return sip.Backend{}, err
	}
	bind := netip.IPv4Unspecified()
	if cfg.RTP.Bind != "" {
		if bind, err = netip.ParseAddr(cfg.RTP.Bind); err != nil {
			return sip.Backend{}, fmt.Errorf("rtp.bind: %w", err)
		}
	}
	mediaIP, err := a.mediaIP(bind)
	if err != nil {
		return sip.Backend{}, err
	}
	eng, err := media.NewEngine(a.log, media.Config{
		BindIP:       bind,
		PortMin:      cfg.RTP.PortMin,
		PortMax:      cfg.RTP.PortMax,
		Quarantine:   time.Duration(cfg.RTP.Quarantine),
		MediaTimeout: time.Duration(cfg.Calls.MediaTimeout),
	})
	if err != nil {
		return sip.Backend{}, err
	}
	a.closers = append(a.closers, eng.Close)
	a.collectors = append(a.collectors, eng.Collectors()...)
	node := nodeName(cfg)
	b := sip.Backend{
		Directory: a.calls,
		Phones:    phones,
		Router:    a.router,
		Contacts:  a.store,
		Records:   a.store,
		Media:     eng,
		MediaIP:   mediaIP,
		Node:      node,
		Registrar: sip.RegistrarConfig{
			MinExpires:          time.Duration(cfg.Registrar.MinExpires),
			MaxExpires:          time.Duration(cfg.Registrar.MaxExpires),
			DefaultExpires:      time.Duration(cfg.Registrar.DefaultExpires),
			NonceLifetime:       time.Duration(cfg.Registrar.NonceLifetime),
			MaxAuthFailures:     cfg.Registrar.MaxAuthFailures,
			FailureWindow:       time.Duration(cfg.Registrar.FailureWindow),
			BlockDuration:       time.Duration(cfg.Registrar.BlockDuration),
			KeepaliveInterval:   time.Duration(cfg.Registrar.KeepaliveInterval),
			DropUnknown:         cfg.SIP.UnknownSource == config.UnknownSourceDrop,
			DigestAlgorithms:    cfg.Registrar.DigestAlgorithms,
			AccountFailureAlert: cfg.Registrar.AccountFailureAlert,
		},
		Calls: sip.CallConfig{
			DrainTimeout:   drainTimeout(cfg.Calls.DrainTimeout),
			InviteTimeout:  time.Duration(cfg.Calls.InviteTimeout),
			CallerIDHeader: cfg.Calls.CallerIDHeader,
		},
	}
	if err := a.mediaServices(&b); err != nil {
		return sip.Backend{}, err
	}
	for _, t := range cfg.Trunks {
		st, err := sipTrunk(t)
		if err != nil {
			return sip.Backend{}, err
		}
		b.Trunks = append(b.Trunks, st)
	}
	return b, nil
}

func sipTrunk(t config.Trunk) (sip.Trunk, error) {
	pw, inPw := t.Password.Value(), t.InboundPassword.Value()
	st := sip.Trunk{
		Name: t.Name, Proxy: t.Proxy, Transport: t.Transport,
		Username: t.Username, Password: pw, Register: t.Register, RegisterExpires: time.Duration(t.RegisterExpires),
		InboundUsername: t.InboundUsername, InboundPassword: inPw,
		FromDomain: t.FromDomain, CallerIDFormat: t.CallerIDFormat, Outbound: t.Outbound,
	}
	for _, a := range t.InboundAddresses {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return sip.Trunk{}, fmt.Errorf("trunk %s: inbound address %q: %w", t.Name, a, err)
			}
			p = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		st.Inbound = append(st.Inbound, p)
	}
	return st, nil
}

// mediaIP is the address written into SDP: rtp.advertise, else an IP
// sip.advertise, else the bind address, else the SIP listen address, else
// the address this host uses toward other hosts (the default route).
func (a *app) mediaIP(bind netip.Addr) (netip.Addr, error) {
	cfg := a.cfg
	for _, s := range []string{cfg.RTP.Advertise, cfg.SIP.Advertise} {
		if ip, err := netip.ParseAddr(s); err == nil {
			return ip, nil
		}
	}
	if !bind.IsUnspecified() {
		return bind, nil
	}
	for _, l := range cfg.SIP.Listen {
		if ap, err := netip.ParseAddrPort(l.Address); err == nil && !ap.Addr().IsUnspecified() {
			return ap.Addr(), nil
		}
	}
	ip := routeIP()
	a.log.Warn("media address guessed from the default route; set rtp.advertise", "address", ip.String())
	return ip, nil
}

// routeIP is the address this host uses toward other hosts (the default
// route), or 127.0.0.1 when it has none. No packet is sent: connecting a
// UDP socket only picks the route.
func routeIP() netip.Addr {
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil {
		defer c.Close()
		if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
			return ap.Addr().Unmap()
		}
	}
	return netip.MustParseAddr("127.0.0.1")
}

// sipAdvertise is the host phones and carriers are told to reach: sip.advertise,
// else, when a listener binds all interfaces, the default route's address
// (a Contact of 0.0.0.0 reaches nobody), else "" (the listen address).
func (a *app) sipAdvertise() string {
	if a.cfg.SIP.Advertise != "" {
		return a.cfg.SIP.Advertise
	}
	for _, l := range a.cfg.SIP.Listen {
		host, _, err := net.SplitHostPort(l.Address)
		if err != nil {
			continue
		}
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			g := routeIP().String()
			a.log.Warn("SIP address guessed from the default route; set sip.advertise", "address", g)
			return g
		}
	}
	return ""
}

// nodeName names this gateway process in contacts and call records. At
// start-up a gateway closes the records its node left open, so two gateways
// on one host must not share a name: the first SIP listener tells them apart
// (two processes cannot both bind it).
func nodeName(cfg config.Config) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "teamline"
	}
	if len(cfg.SIP.Listen) == 0 {
		return host
	}
	l := cfg.SIP.Listen[0]
	return host + "/" + l.Transport + ":" + l.Address
}

// drainTimeout is calls.drain_timeout for the SIP server, where 0 means
// its default and a negative timeout ends the calls at once: the config's
// 0 (end them at once) becomes -1.
func drainTimeout(d config.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return time.Duration(d)
}

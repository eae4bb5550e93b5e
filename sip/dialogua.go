package sip

import (
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// newInvite builds the INVITE of one fork.
func (s *Server) newInvite(t *target, from caller, body []byte, hops int) (*gosip.Request, error) {
	req := gosip.NewRequest(gosip.INVITE, t.uri)
	host := s.contactHost(t.transport)
	if t.trunk != nil {
		host = t.trunk.FromDomain
		from.user = t.trunk.callerID(from.user)
	}
	fh := &gosip.FromHeader{DisplayName: from.display, Address: gosip.Uri{Scheme: "sip", User: from.user, Host: host}}
	fh.Params = gosip.NewParams()
	fh.Params.Add("tag", gosip.GenerateTagN(16))
	req.AppendHeader(fh)
	req.AppendHeader(&gosip.ToHeader{Address: t.to})
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(gosip.NewHeader("Allow", allowedMethods))
	mf := gosip.MaxForwardsHeader(uint32(max(hops, 0)))
	req.AppendHeader(&mf)
	req.SetBody(body)
	req.SetTransport(strings.ToUpper(t.transport))
	if t.dest != "" {
		req.SetDestination(t.dest)
	}
	return req, nil
}

// contactHost is the host of our Contact for transport.
func (s *Server) contactHost(transport string) string {
	if s.opts.advertise != "" {
		return s.opts.advertise
	}
	if a := s.Addr(strings.ToLower(transport)); a != "" {
		h, _, _ := net.SplitHostPort(a)
		return h
	}
	return "localhost"
}

// dialogUA returns the dialog user agent for transport.
func (s *Server) dialogUA(transport string) *sipgo.DialogUA {
	transport = strings.ToLower(transport)
	cl := s.client(transport)
	if cl == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ua := s.dialogUAs[transport]; ua != nil {
		return ua
	}
	addr := s.addrOfLocked(transport)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	host := s.opts.advertise
	if host == "" {
		host, _, _ = net.SplitHostPort(addr)
	}
	contact := gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "teamline", Host: host, Port: p}}
	if transport != "udp" {
		contact.Address.UriParams = gosip.NewParams()
		contact.Address.UriParams.Add("transport", transport)
	}
	// RewriteContact: in-dialog requests go where the other end's messages
	// came from, not to its Contact, which behind NAT is unreachable.
	ua := &sipgo.DialogUA{Client: cl, ContactHDR: contact, RewriteContact: true}
	s.dialogUAs[transport] = ua
	return ua
}

func (s *Server) addrOfLocked(transport string) string {
	for _, l := range s.addrs {
		if l.Transport == transport {
			return l.Address
		}
	}
	return ""
}

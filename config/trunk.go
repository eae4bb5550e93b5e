package config

import (
	"net"
	"strings"
)

// ProxyHost returns the host part of Proxy: a host name or an IP address (IPv6 without brackets), or ""
// when Proxy is not host:port.
func (t Trunk) ProxyHost() string {
	host, _, err := net.SplitHostPort(t.Proxy)
	if err != nil {
		return ""
	}
	return host
}

// FromHost returns the host part of the From URI on outbound calls and REGISTER: FromDomain, or the
// proxy's host when FromDomain is empty. An IPv6 address comes without brackets; add them for a SIP URI
// (RFC 3261 25.1).
func (t Trunk) FromHost() string {
	if t.FromDomain != "" {
		return strings.TrimSuffix(strings.TrimPrefix(t.FromDomain, "["), "]")
	}
	return t.ProxyHost()
}

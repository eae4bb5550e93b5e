package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// checkHostPort checks a "host:port" address: port 1..65535, host an IP or a host name; an empty host is
// allowed only when hostOptional (listen addresses: all interfaces), and so is port 0 (listen on a free
// port the kernel picks; the log says which). The error is a reason that quotes the address.
func checkHostPort(addr string, hostOptional bool) error {
	if addr == "" {
		return fmt.Errorf("is empty (want host:port)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		reason := "not host:port"
		if ae, ok := err.(*net.AddrError); ok {
			reason = ae.Err + " (want host:port, IPv6 as [addr]:port)"
		}
		return fmt.Errorf("%q: %s", addr, reason)
	}
	freePort := hostOptional && port == "0" // tests and throwaway instances
	if err := checkPort(port); err != nil && !freePort {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host == "" {
		if !hostOptional {
			return fmt.Errorf("%q: missing host", addr)
		}
		return nil
	}
	if !validHost(host) {
		return fmt.Errorf("%q: %q is not an IP address or host name", addr, host)
	}
	return nil
}

func checkPort(port string) error {
	if port == "" {
		return fmt.Errorf("missing port")
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		// A service name ("sip") would depend on /etc/services; ask for the number.
		return fmt.Errorf("port %q is not a number", port)
	}
	if n < 1 || n > 65535 {
		return fmt.Errorf("port out of range")
	}
	return nil
}

// validHost reports whether s is an IP address (IPv6 zones allowed) or a host name.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return validHostname(s)
}

// validHostname checks RFC 1123 host name syntax: dot-separated labels of letters, digits and hyphens,
// 1..63 characters each, not starting or ending with a hyphen, 253 characters in all. Underscores are
// tolerated because container and internal DNS names use them. A name of digits and dots only is
// refused, as it is a mistyped IPv4 address.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	allDigits := true
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				allDigits = false
			default:
				return false
			}
		}
	}
	return !allDigits
}

// checkAdvertiseHost checks an advertised address: an IP (not 0.0.0.0 or ::) or, when namesOK, a host
// name; no port.
func checkAdvertiseHost(s string, namesOK bool) error {
	h := s
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		if ip.IsUnspecified() {
			return fmt.Errorf("%q: an unspecified address cannot be advertised; give the public address", s)
		}
		return nil
	}
	if namesOK && validHostname(h) {
		return nil
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return fmt.Errorf("%q: give the address without a port", s)
	}
	if namesOK {
		return fmt.Errorf("%q: not an IP address or host name", s)
	}
	return fmt.Errorf("%q: not an IP address", s)
}

// checkHost accepts a host name or an IP address (IPv6 with or without brackets), without a port: the
// host part of a SIP URI.
func checkHost(s string) error {
	h := s
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
		if _, err := netip.ParseAddr(h); err != nil {
			return fmt.Errorf("%q: not an IPv6 address in brackets", s)
		}
		return nil
	}
	if validHost(h) {
		return nil
	}
	if l := strings.ToLower(s); strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") {
		return fmt.Errorf("%q: give the host alone, without the sip: scheme", s)
	}
	if host, port, err := net.SplitHostPort(s); err == nil && checkPort(port) == nil && validHost(host) {
		return fmt.Errorf("%q: give the host without a port", s)
	}
	return fmt.Errorf("%q: not a host name or IP address", s)
}

// checkIPOrCIDR accepts "192.0.2.10", "2001:db8::1", "192.0.2.0/24", "2001:db8::/32".
func checkIPOrCIDR(s string) error {
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q: not a CIDR prefix (e.g. 192.0.2.0/24)", s)
		}
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q: not an IP address or CIDR prefix", s)
	}
	return nil
}

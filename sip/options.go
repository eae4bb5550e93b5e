package sip

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// DefaultUserAgent is the Server and User-Agent header value unless
// WithUserAgent says otherwise.
const DefaultUserAgent = "Teamline"

// Option configures a Server; see the With... functions.
type Option func(*options) error

type options struct {
	userAgent string
	advertise string
	realm     string
	certFile  string
	keyFile   string
}

// WithUserAgent sets the product token sent in the Server header of responses
// and the User-Agent of requests, e.g. "Teamline/1.4.0".
func WithUserAgent(name string) Option {
	return func(o *options) error {
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, "\r\n") {
			return errors.New("sip: user agent must be a non-empty single line")
		}
		o.userAgent = name
		return nil
	}
}

// WithAdvertise sets the host (name or IP, no port) that peers must use to
// reach this gateway, when it differs from the listen address (NAT, a
// 0.0.0.0 listener). It goes into Via sent-by of requests the gateway sends
// (and later Contact and Record-Route); the port is the listener's. Without
// it the listen IP is used, which is wrong for a 0.0.0.0 listener: set it in
// production.
func WithAdvertise(host string) Option {
	return func(o *options) error {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" {
			return errors.New("sip: advertise host is empty")
		}
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return fmt.Errorf("sip: advertise %q: want a host without port", host)
		}
		o.advertise = host
		return nil
	}
}

// WithRealm sets the gateway's SIP domain: the host of From URIs on requests
// it originates now, and the digest realm of the registrar when that lands.
// Default: the advertise host, else "localhost".
func WithRealm(realm string) Option {
	return func(o *options) error {
		realm = strings.TrimSpace(realm)
		if realm == "" || strings.ContainsAny(realm, " \t\r\n\"") {
			return fmt.Errorf("sip: realm %q: want a domain name", realm)
		}
		o.realm = realm
		return nil
	}
}

// WithTLS sets the PEM certificate chain and key files for "tls" listeners.
// They are read by NewServer, so a bad path fails at start, not at the first
// call.
func WithTLS(certFile, keyFile string) Option {
	return func(o *options) error {
		if certFile == "" || keyFile == "" {
			return errors.New("sip: tls needs both a certificate and a key file")
		}
		o.certFile, o.keyFile = certFile, keyFile
		return nil
	}
}

package sip

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"

	"github.com/teamline/teamline/sip/intake"
)

// DefaultUserAgent is the Server and User-Agent header value unless
// WithUserAgent says otherwise.
const DefaultUserAgent = "Teamline"

// DefaultRealm is the digest realm unless WithRealm says otherwise.
const DefaultRealm = "teamline"

// Option configures a Server; see the With... functions.
type Option func(*options) error

type options struct {
	userAgent string
	advertise string
	realm     string
	certFile  string
	keyFile   string
	backend   *Backend
	limits    intake.Limits
}

// Limits bound what the gateway accepts from SIP peers (config sip.limits);
// see docs/SIP-EDGE.md.
type Limits = intake.Limits

// WithLimits sets the intake's limits; zero fields keep the defaults
// (intake.DefaultLimits).
func WithLimits(l Limits) Option {
	return func(o *options) error {
		if l.MaxMessage > 65507 {
			return fmt.Errorf("sip: max message size %d: at most 65507 (the largest UDP payload)", l.MaxMessage)
		}
		o.limits = l
		return nil
	}
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

// WithRealm sets the digest authentication realm (RFC 3261 22.1) that the
// registrar and trunk authentication will use; it is kept until they land.
// It is a quoted string on the wire, so it must not contain quotes,
// backslashes or control characters. Default "teamline".
func WithRealm(realm string) Option {
	return func(o *options) error {
		if realm == "" || strings.ContainsAny(realm, "\"\\") || strings.ContainsFunc(realm, unicode.IsControl) {
			return fmt.Errorf("sip: realm %q: want non-empty text without quotes, backslashes or control characters", realm)
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

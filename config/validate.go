package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	trunkNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	regionRE    = regexp.MustCompile(`^[A-Z]{2}$`)
)

var (
	logLevels         = []string{"debug", "info", "warn", "error"}
	logFormats        = []string{"text", "json"}
	listenTransports  = []string{"udp", "tcp", "tls", "ws", "wss"}
	trunkTransports   = []string{"udp", "tcp", "tls"}
	rtpPortLow        = 1024
	rtpPortHigh       = 65535
	tlsListenerNeeded = []string{"tls", "wss"}
)

// Validate checks the whole configuration and returns every problem at once as an *Error, or nil. For a
// config from Load the problems name the file and line of the offending key.
func (c Config) Validate() error {
	v := &validator{src: c.src}
	v.validate(&c)
	return problemsError(v.problems)
}

type validator struct {
	src      *source
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{
		File:   v.src.fileName(),
		Line:   v.src.lineOf(path),
		Path:   path,
		Reason: fmt.Sprintf(format, args...),
	})
}

func (v *validator) validate(c *Config) {
	if strings.TrimSpace(c.DataDir) == "" {
		v.add("data_dir", "must not be empty")
	}
	v.oneOf("log.level", c.Log.Level, logLevels)
	v.oneOf("log.format", c.Log.Format, logFormats)
	v.database(&c.Database, c.DataDir)
	v.http(&c.HTTP)
	v.sip(&c.SIP)
	v.rtp(&c.RTP)
	if !regionRE.MatchString(c.Phone.DefaultRegion) {
		v.add("phone.default_region", "%q: want an ISO 3166 two-letter region in upper case, e.g. US, GB, DE", c.Phone.DefaultRegion)
	}
	v.trunks(c.Trunks)
}

func (v *validator) oneOf(path, val string, allowed []string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	v.add(path, "%q: want one of %s", val, strings.Join(allowed, ", "))
	return false
}

func (v *validator) nonNegative(path string, d Duration) {
	if d < 0 {
		v.add(path, "%s: must not be negative", time.Duration(d))
	}
}

func (v *validator) database(d *Database, dataDir string) {
	// An empty DSN with an empty data_dir is already reported at data_dir.
	if d.DSN.IsSet() || dataDir != "" {
		v.dsn(d, dataDir)
	}
	if d.MaxOpenConns < 0 {
		v.add("database.max_open_conns", "%d: must not be negative (0 means unlimited)", d.MaxOpenConns)
	}
	if d.MaxIdleConns < 0 {
		v.add("database.max_idle_conns", "%d: must not be negative", d.MaxIdleConns)
	} else if d.MaxOpenConns > 0 && d.MaxIdleConns > d.MaxOpenConns {
		v.add("database.max_idle_conns", "%d: must not exceed max_open_conns (%d)", d.MaxIdleConns, d.MaxOpenConns)
	}
	v.nonNegative("database.conn_max_lifetime", d.ConnMaxLifetime)
}

func (v *validator) dsn(d *Database, dataDir string) {
	if _, _, err := d.Driver(dataDir); err != nil {
		reason := strings.TrimPrefix(err.Error(), ErrDSN.Error()+": ")
		if d.DSN.from != "" {
			reason += " (value from " + d.DSN.from + ")"
		}
		v.add("database.dsn", "%s", reason)
	}
}

func (v *validator) http(h *HTTP) {
	if err := checkHostPort(h.Listen, true); err != nil {
		v.add("http.listen", "%s", err)
	}
	if h.MaxBodyBytes <= 0 {
		v.add("http.max_body_bytes", "%d: must be positive", h.MaxBodyBytes)
	}
	v.nonNegative("http.read_timeout", h.ReadTimeout)
	v.nonNegative("http.write_timeout", h.WriteTimeout)
}

func (v *validator) sip(s *SIP) {
	if len(s.Listen) == 0 {
		v.add("sip.listen", "at least one listener is required")
	}
	// Two listeners may share a port when one is UDP and the other stream-based, not otherwise.
	used := map[string]int{}
	for i, l := range s.Listen {
		p := "sip.listen[" + strconv.Itoa(i) + "]"
		if !v.oneOf(p+".transport", l.Transport, listenTransports) {
			continue
		}
		if l.Transport == "ws" || l.Transport == "wss" {
			// Known to the config so files can be written for it, but the SIP
			// server does not serve WebSocket yet: say so here, with the line,
			// rather than fail at start without one.
			v.add(p+".transport", "%s is not supported yet (udp, tcp or tls)", l.Transport)
			continue
		}
		host, port, _ := net.SplitHostPort(l.Address)
		if err := checkHostPort(l.Address, true); err != nil {
			v.add(p+".address", "%s", err)
		} else if _, err := netip.ParseAddr(host); host != "" && err != nil {
			// The SIP server binds IPs only (sip.Listener): Via and Contact carry the IP.
			v.add(p+".address", "%q: the host must be an IP address (0.0.0.0 or empty for all interfaces), not a name", l.Address)
		} else if port != "0" {
			// Port 0 is a fresh free port for each listener, never a collision.
			key := "stream " + l.Address
			if l.Transport == "udp" {
				key = "udp " + l.Address
			}
			if j, dup := used[key]; dup {
				v.add(p+".address", "%q: already used by sip.listen[%d] (%s)", l.Address, j, s.Listen[j].Transport)
			} else {
				used[key] = i
			}
		}
		if slices.Contains(tlsListenerNeeded, l.Transport) {
			v.file(p+".tls_cert", l.TLSCert, l.Transport+" needs a certificate file")
			v.file(p+".tls_key", l.TLSKey, l.Transport+" needs a private key file")
		} else {
			if l.TLSCert != "" {
				v.add(p+".tls_cert", "only used with tls and wss, not %s", l.Transport)
			}
			if l.TLSKey != "" {
				v.add(p+".tls_key", "only used with tls and wss, not %s", l.Transport)
			}
		}
	}
	if s.Advertise != "" {
		if err := checkAdvertiseHost(s.Advertise, true); err != nil {
			v.add("sip.advertise", "%s", err)
		}
	}
	// The realm goes into a quoted-string of WWW-Authenticate (RFC 3261 22.4, RFC 2617 3.2.1).
	if s.Realm == "" {
		v.add("sip.realm", "must not be empty")
	} else if strings.ContainsAny(s.Realm, "\"\\") || hasControl(s.Realm) {
		v.add("sip.realm", "%q: must not contain quotes, backslashes or control characters", s.Realm)
	}
	// A CR or LF in a header value would inject headers.
	if s.UserAgent == "" {
		v.add("sip.user_agent", "must not be empty")
	} else if hasControl(s.UserAgent) {
		v.add("sip.user_agent", "%q: must not contain control characters", s.UserAgent)
	}
}

// file checks that path names an existing regular file.
func (v *validator) file(keyPath, path, missing string) {
	if path == "" {
		v.add(keyPath, "%s", missing)
		return
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.add(keyPath, "%q: file does not exist", path)
	case err != nil:
		v.add(keyPath, "%q: %v", path, errors.Unwrap(err))
	case !fi.Mode().IsRegular():
		v.add(keyPath, "%q: not a regular file", path)
	default:
		f, err := os.Open(path)
		if err != nil {
			v.add(keyPath, "%q: cannot read: %v", path, errors.Unwrap(err))
			return
		}
		f.Close()
	}
}

func (v *validator) rtp(r *RTP) {
	okMin, okMax := true, true
	if r.PortMin < rtpPortLow || r.PortMin > rtpPortHigh {
		v.add("rtp.port_min", "%d: must be between %d and %d", r.PortMin, rtpPortLow, rtpPortHigh)
		okMin = false
	} else if r.PortMin%2 != 0 {
		// RFC 3550 11: RTP uses an even port, RTCP the next odd one.
		v.add("rtp.port_min", "%d: must be even (RTP takes even ports, RTCP the odd port above)", r.PortMin)
	}
	if r.PortMax < rtpPortLow || r.PortMax > rtpPortHigh {
		v.add("rtp.port_max", "%d: must be between %d and %d", r.PortMax, rtpPortLow, rtpPortHigh)
		okMax = false
	}
	if okMin && okMax && r.PortMin >= r.PortMax {
		v.add("rtp.port_max", "%d: must be greater than port_min (%d)", r.PortMax, r.PortMin)
	}
	if r.Advertise != "" {
		if err := checkAdvertiseHost(r.Advertise, false); err != nil {
			v.add("rtp.advertise", "%s", err)
		}
	}
}

func (v *validator) trunks(ts []Trunk) {
	names := map[string]int{}
	for i, t := range ts {
		p := "trunks[" + strconv.Itoa(i) + "]"
		switch {
		case t.Name == "":
			v.add(p+".name", "required")
		case !trunkNameRE.MatchString(t.Name):
			v.add(p+".name", "%q: use 1 to 64 characters of a-z, 0-9, _ and -", t.Name)
		default:
			if j, dup := names[t.Name]; dup {
				v.add(p+".name", "%q: duplicate trunk name (also trunks[%d])", t.Name, j)
			} else {
				names[t.Name] = i
			}
		}
		if err := checkHostPort(t.Proxy, false); err != nil {
			v.add(p+".proxy", "%s", err)
		}
		v.oneOf(p+".transport", t.Transport, trunkTransports)
		if t.Register {
			if t.Username == "" {
				v.add(p+".username", "required when register is true")
			}
			if !t.Password.IsSet() {
				v.add(p+".password", "required when register is true")
			}
		}
		if t.Password.IsSet() && t.Username == "" && !t.Register {
			v.add(p+".username", "required when a password is set")
		}
		if hasControl(t.Username) {
			v.add(p+".username", "must not contain control characters")
		}
		for j, a := range t.InboundAddresses {
			if err := checkIPOrCIDR(a); err != nil {
				v.add(p+".inbound_addresses["+strconv.Itoa(j)+"]", "%s", err)
			}
		}
	}
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

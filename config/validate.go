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
	// headerNameRE is an RFC 3261 25.1 token, the syntax of a header name.
	headerNameRE = regexp.MustCompile("^[A-Za-z0-9.!%*_+`'~-]{1,64}$")
)

var (
	logLevels         = []string{"debug", "info", "warn", "error"}
	logFormats        = []string{"text", "json"}
	listenTransports  = []string{"udp", "tcp", "tls", "ws", "wss"}
	trunkTransports   = []string{"udp", "tcp", "tls"}
	rtpPortLow        = 1024
	rtpPortHigh       = 65535
	tlsListenerNeeded = []string{"tls", "wss"}
	unknownSources    = []string{UnknownSourceReject, UnknownSourceDrop}
	callerIDFormats   = []string{CallerIDE164, CallerIDE164NoPlus, CallerIDNational}
	// minRegisterExpires is the shortest registration Teamline asks a carrier for; RFC 3261 10.2.1.1
	// warns against asking for less than a minute.
	minRegisterExpires = Duration(time.Minute)
	// ownHeaders are built by Teamline on every request (RFC 3261 8.1.1) or carry routing and
	// authentication; a phone must not choose a caller ID through them.
	ownHeaders = []string{
		"via", "from", "to", "call-id", "cseq", "contact", "max-forwards", "content-length", "content-type",
		"route", "record-route", "authorization", "proxy-authorization", "www-authenticate",
		"proxy-authenticate", "require", "proxy-require", "supported", "expires", "user-agent", "server",
	}
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
	v.registrar(&c.Registrar)
	v.calls(&c.Calls)
	v.rtp(&c.RTP)
	v.recording(&c.Recording)
	v.voicemail(&c.Voicemail)
	v.prompts(c.Prompts)
	if !regionRE.MatchString(c.Phone.DefaultRegion) {
		v.add("phone.default_region", "%q: want an ISO 3166 two-letter region in upper case, e.g. US, GB, DE", c.Phone.DefaultRegion)
	}
	v.verification(&c.Verification)
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

// positive checks a duration that must be greater than zero.
func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "%s: must be positive", time.Duration(d))
	}
}

// offOrAtLeast checks a duration where 0 turns a feature off and anything else must be at least least.
func (v *validator) offOrAtLeast(path string, d, least Duration) {
	switch {
	case d < 0:
		v.add(path, "%s: must not be negative (0 turns it off)", time.Duration(d))
	case d > 0 && d < least:
		v.add(path, "%s: must be 0 (off) or at least %s", time.Duration(d), time.Duration(least))
	}
}

// seconds checks a duration that goes into a SIP Expires value, which counts whole seconds (RFC 3261
// 20.19), and that is at least least. It reports false after a problem.
func (v *validator) seconds(path string, d, least Duration) bool {
	switch {
	case d < least:
		v.add(path, "%s: must be at least %s", time.Duration(d), time.Duration(least))
	case time.Duration(d)%time.Second != 0:
		v.add(path, "%s: must be whole seconds (SIP expiry counts seconds)", time.Duration(d))
	default:
		return true
	}
	return false
}

func (v *validator) database(d *Database, dataDir string) {
	// An empty DSN with an empty data_dir is already reported at data_dir. A DSN still to be read
	// from a variable or file is checked when it is read (ResolveSecrets).
	if !d.DSN.pending && (d.DSN.IsSet() || dataDir != "") {
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
		if from := d.DSN.from(); from != "" {
			reason += " (value from " + from + ")"
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
	v.oneOf("sip.unknown_source", s.UnknownSource, unknownSources)
	l := &s.Limits
	v.intRange("sip.limits.max_message_bytes", l.MaxMessageBytes, 1024, maxUDPPayload)
	v.intRange("sip.limits.max_headers", l.MaxHeaders, 16, 4096)
	v.intRange("sip.limits.max_header_bytes", l.MaxHeaderBytes, 256, maxUDPPayload)
	v.intRange("sip.limits.max_body_bytes", l.MaxBodyBytes, 256, maxUDPPayload)
	v.intRange("sip.limits.max_uri_bytes", l.MaxURIBytes, 64, 8192)
}

// maxUDPPayload is the largest UDP payload over IPv4 (65,535 less the IP and UDP headers): no SIP
// message limit can usefully exceed it.
const maxUDPPayload = 65507

// intRange checks lo <= n <= hi.
func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.add(path, "%d: must be %d to %d", n, lo, hi)
	}
}

func (v *validator) registrar(r *Registrar) {
	okMin := v.seconds("registrar.min_expires", r.MinExpires, Duration(time.Second))
	okMax := v.seconds("registrar.max_expires", r.MaxExpires, Duration(time.Second))
	okDef := v.seconds("registrar.default_expires", r.DefaultExpires, Duration(time.Second))
	if okMin && okMax && r.MaxExpires < r.MinExpires {
		v.add("registrar.max_expires", "%s: must not be less than min_expires (%s)", r.MaxExpires, r.MinExpires)
	} else if okMin && okMax && okDef && (r.DefaultExpires < r.MinExpires || r.DefaultExpires > r.MaxExpires) {
		v.add("registrar.default_expires", "%s: must be between min_expires (%s) and max_expires (%s)", r.DefaultExpires, r.MinExpires, r.MaxExpires)
	}
	v.positive("registrar.nonce_lifetime", r.NonceLifetime)
	if r.MaxAuthFailures < 1 {
		v.add("registrar.max_auth_failures", "%d: must be at least 1", r.MaxAuthFailures)
	}
	v.positive("registrar.failure_window", r.FailureWindow)
	v.nonNegative("registrar.block_duration", r.BlockDuration)
	v.offOrAtLeast("registrar.keepalive_interval", r.KeepaliveInterval, Duration(time.Second))
	if len(r.DigestAlgorithms) == 0 {
		v.add("registrar.digest_algorithms", "must list at least one of %s, %s", DigestMD5, DigestSHA256)
	}
	seen := map[string]bool{}
	for i, a := range r.DigestAlgorithms {
		path := fmt.Sprintf("registrar.digest_algorithms[%d]", i)
		switch {
		case a != DigestMD5 && a != DigestSHA256:
			v.add(path, "%q: must be %s or %s", a, DigestMD5, DigestSHA256)
		case seen[a]:
			v.add(path, "%q: given twice", a)
		}
		seen[a] = true
	}
	if r.AccountFailureAlert < 1 {
		v.add("registrar.account_failure_alert", "%d: must be at least 1", r.AccountFailureAlert)
	}
}

func (v *validator) calls(c *Calls) {
	v.offOrAtLeast("calls.media_timeout", c.MediaTimeout, Duration(time.Second))
	v.nonNegative("calls.drain_timeout", c.DrainTimeout)
	v.positive("calls.invite_timeout", c.InviteTimeout)
	if c.AcceptTimeout < Duration(2*time.Second) || c.AcceptTimeout > Duration(2*time.Minute) {
		v.add("calls.accept_timeout", "%s: must be 2s to 2m", time.Duration(c.AcceptTimeout))
	}
	switch h := c.CallerIDHeader; {
	case h == "":
	case !headerNameRE.MatchString(h):
		v.add("calls.caller_id_header", "%q: not a SIP header name (letters, digits and -.!%%*_+`'~, at most 64)", h)
	case len(h) == 1:
		// RFC 3261 7.3.3: one-letter names are compact forms of standard headers.
		v.add("calls.caller_id_header", "%q: one-letter names are compact forms of standard headers", h)
	case slices.Contains(ownHeaders, strings.ToLower(h)):
		v.add("calls.caller_id_header", "%q: a standard header Teamline sets itself; use a name of its own such as X-Teamline-Caller-ID", h)
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
	if r.Bind != "" {
		if _, err := netip.ParseAddr(r.Bind); err != nil {
			v.add("rtp.bind", "%q: not an IP address (leave empty for all interfaces)", r.Bind)
		}
	}
	v.nonNegative("rtp.quarantine", r.Quarantine)
}

func (v *validator) trunks(ts []Trunk) {
	names := map[string]int{}
	inboundUsers := map[string]int{}
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
		if t.Register || t.RegisterExpires != 0 {
			v.seconds(p+".register_expires", t.RegisterExpires, minRegisterExpires)
		}
		for j, a := range t.InboundAddresses {
			if err := checkIPOrCIDR(a); err != nil {
				v.add(p+".inbound_addresses["+strconv.Itoa(j)+"]", "%s", err)
			}
		}
		v.inboundCredentials(p, i, &t, inboundUsers)
		if t.FromDomain != "" {
			if err := checkHost(t.FromDomain); err != nil {
				v.add(p+".from_domain", "%s", err)
			}
		}
		v.oneOf(p+".caller_id_format", t.CallerIDFormat, callerIDFormats)
	}
}

// inboundCredentials checks a trunk's inbound digest credentials: both or neither, and the username
// unique among trunks (it is how a challenged INVITE finds its trunk). Reasons never quote the password.
func (v *validator) inboundCredentials(p string, i int, t *Trunk, users map[string]int) {
	switch {
	case t.InboundUsername == "" && t.InboundPassword.IsSet():
		v.add(p+".inbound_username", "required when inbound_password is set")
	case t.InboundUsername != "" && !t.InboundPassword.IsSet():
		v.add(p+".inbound_password", "required when inbound_username is set")
	}
	if t.InboundUsername == "" {
		return
	}
	if hasControl(t.InboundUsername) {
		v.add(p+".inbound_username", "must not contain control characters")
	} else if j, dup := users[t.InboundUsername]; dup {
		v.add(p+".inbound_username", "%q: also the inbound_username of trunks[%d]; each trunk needs its own", t.InboundUsername, j)
	} else {
		users[t.InboundUsername] = i
	}
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// Package config holds Teamline's configuration: the types read from the YAML file, their defaults, strict
// loading and validation.
//
// Load reads a file over Default (keys missing from the file keep their defaults; a list in the file replaces
// the default list), rejects unknown keys, applies environment overrides and validates the result. Every
// problem carries the file, line and key path it belongs to, and Load reports all of them at once (see Error).
//
// Environment overrides, applied after the file:
//
//	TEAMLINE_DATABASE_DSN  replaces database.dsn (ignored when empty)
//
// Secrets written as {env: NAME} or {file: PATH} are read only by the commands that use them: Load checks
// their form, Config.ResolveSecrets (or LoadFor) reads those a command needs, by use (SecretDatabase,
// SecretTrunks, SecretVerification), and reports what fails with file, line and key like Load.
//
// Relative paths (data_dir, TLS files, secret files) are relative to the working directory of the process,
// not to the config file.
//
// The package imports nothing of Teamline's own.
package config

// Config is the whole Teamline configuration. The zero value is not useful; start from Default or Load.
type Config struct {
	// DataDir holds the SQLite database file, recordings and the admin token file. Default "./teamline-data".
	DataDir string `yaml:"data_dir" json:"data_dir"`
	// Log configures the process logger.
	Log Log `yaml:"log" json:"log"`
	// Database selects and tunes the SQL database.
	Database Database `yaml:"database" json:"database"`
	// HTTP configures the admin API, metrics and web pages.
	HTTP HTTP `yaml:"http" json:"http"`
	// SIP configures the SIP listeners and identity.
	SIP SIP `yaml:"sip" json:"sip"`
	// Registrar configures REGISTER handling and digest authentication of the team's phones.
	Registrar Registrar `yaml:"registrar" json:"registrar"`
	// Calls configures call timers and caller-ID selection.
	Calls Calls `yaml:"calls" json:"calls"`
	// RTP configures the media port range.
	RTP RTP `yaml:"rtp" json:"rtp"`
	// Recording configures where recordings live and the consent jurisdictions.
	Recording Recording `yaml:"recording" json:"recording"`
	// Voicemail configures voicemail.
	Voicemail Voicemail `yaml:"voicemail" json:"voicemail"`
	// Prompts replaces shipped prompts with files.
	Prompts Prompts `yaml:"prompts" json:"prompts"`
	// Phone configures phone number handling.
	Phone Phone `yaml:"phone" json:"phone"`
	// Verification configures how cell phone verification codes are sent.
	Verification Verification `yaml:"verification" json:"verification"`
	// Trunks are the SIP trunks to carriers. Default none.
	Trunks []Trunk `yaml:"trunks" json:"trunks"`

	// src remembers where each key came from, so Validate can name file and line. Nil for Default().
	src *source
}

// Log configures the process logger.
type Log struct {
	// Level is one of debug, info, warn, error. Default "info".
	Level string `yaml:"level" json:"level"`
	// Format is text or json. Default "text".
	Format string `yaml:"format" json:"format"`
}

// Database selects and tunes the SQL database.
type Database struct {
	// DSN selects the database. Empty means the SQLite file teamline.db in DataDir. Accepted forms:
	// "sqlite:PATH", "file:PATH[?params]", a path ending in .db, .sqlite or .sqlite3 (SQLite);
	// "mysql://user:pass@host:port/dbname?params" or "user:pass@tcp(host:port)/dbname?params" (MySQL/MariaDB).
	// Overridden by the environment variable TEAMLINE_DATABASE_DSN.
	DSN Secret `yaml:"dsn" json:"dsn"`
	// MaxOpenConns limits open connections; 0 means unlimited. Default 20.
	MaxOpenConns int `yaml:"max_open_conns" json:"max_open_conns"`
	// MaxIdleConns limits idle connections kept in the pool. Default 10.
	MaxIdleConns int `yaml:"max_idle_conns" json:"max_idle_conns"`
	// ConnMaxLifetime closes connections older than this; 0 means never. Default 5m.
	ConnMaxLifetime Duration `yaml:"conn_max_lifetime" json:"conn_max_lifetime"`
}

// HTTP configures the HTTP server (admin API, /metrics, /healthz, web pages).
type HTTP struct {
	// Listen is the host:port to listen on. Default "127.0.0.1:8080".
	Listen string `yaml:"listen" json:"listen"`
	// MaxBodyBytes limits request bodies. Default 1 MiB (1048576).
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// ReadTimeout limits reading a whole request; 0 means none. Default 10s.
	ReadTimeout Duration `yaml:"read_timeout" json:"read_timeout"`
	// WriteTimeout limits writing a response; 0 means none. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout" json:"write_timeout"`
	// Pprof serves Go's profiler under /debug/pprof/ (no authentication: only on a trusted listener).
	// Default false.
	Pprof bool `yaml:"pprof" json:"pprof"`
}

// SIP configures the SIP side of the gateway.
type SIP struct {
	// Listen lists the sockets to listen on. Default udp and tcp on 0.0.0.0:5060.
	Listen []Listener `yaml:"listen" json:"listen"`
	// Advertise is the host name or IP put in Via, Contact and SDP instead of the listen address, for a
	// gateway behind NAT. Optional.
	Advertise string `yaml:"advertise" json:"advertise"`
	// Realm is the digest authentication realm. Default "teamline".
	Realm string `yaml:"realm" json:"realm"`
	// UserAgent is sent in User-Agent and Server headers. Default "Teamline".
	UserAgent string `yaml:"user_agent" json:"user_agent"`
	// UnknownSource is what an INVITE, MESSAGE or REGISTER from an address that is no trunk's
	// inbound_addresses gets when its digest credentials fail (everyone there is challenged first, whoever
	// they claim to be): UnknownSourceReject (403 Forbidden) or UnknownSourceDrop (no answer at all, so
	// guessers learn nothing). Either way users and non-users get the same answer. Default "reject".
	UnknownSource string `yaml:"unknown_source" json:"unknown_source"`
	// Limits bound what the gateway accepts from any SIP peer; larger messages are answered (513, 400)
	// and never reach call handling.
	Limits SIPLimits `yaml:"limits" json:"limits"`
}

// SIPLimits bounds incoming SIP messages (checked before any other work on them).
type SIPLimits struct {
	// MaxMessageBytes is the largest message accepted, start line, headers and body together; a
	// larger request gets 513 Message Too Large (RFC 3261 21.5.14). 1,024 to 65,507 (the largest UDP
	// payload). Default 65507.
	MaxMessageBytes int `yaml:"max_message_bytes" json:"max_message_bytes"`
	// MaxHeaders is the most header fields one message may carry (each Via of a list counts once per
	// line). 16 to 4,096. Default 512.
	MaxHeaders int `yaml:"max_headers" json:"max_headers"`
	// MaxHeaderBytes is the longest header field (name and value, after unfolding). 256 to 65,507.
	// Default 16384.
	MaxHeaderBytes int `yaml:"max_header_bytes" json:"max_header_bytes"`
	// MaxBodyBytes is the largest body. 256 to 65,507. Default 32768.
	MaxBodyBytes int `yaml:"max_body_bytes" json:"max_body_bytes"`
	// MaxURIBytes is the longest Request-URI; a longer one gets 414 Request-URI Too Long (RFC 3261
	// 21.4.12). 64 to 8,192. Default 1024.
	MaxURIBytes int `yaml:"max_uri_bytes" json:"max_uri_bytes"`
}

// Values of SIP.UnknownSource.
const (
	UnknownSourceReject = "reject"
	UnknownSourceDrop   = "drop"
)

// Registrar configures REGISTER handling (RFC 3261 10.3) and digest authentication of the team's phones.
type Registrar struct {
	// MinExpires is the shortest registration accepted; a REGISTER asking for less gets 423 Interval Too
	// Brief with this as Min-Expires (RFC 3261 10.3 step 7). At least 1s, whole seconds. Default 60s.
	MinExpires Duration `yaml:"min_expires" json:"min_expires"`
	// MaxExpires is the longest registration granted; longer requests are shortened to it. Whole seconds,
	// at least MinExpires. Default 1h.
	MaxExpires Duration `yaml:"max_expires" json:"max_expires"`
	// DefaultExpires is granted when the REGISTER has neither an Expires header nor an expires contact
	// parameter. Whole seconds, between MinExpires and MaxExpires. Default 1h.
	DefaultExpires Duration `yaml:"default_expires" json:"default_expires"`
	// NonceLifetime is how long a digest nonce stays valid; an older one gets a fresh challenge with
	// stale=true (RFC 2617 3.2.1). Must be positive. Default 5m.
	NonceLifetime Duration `yaml:"nonce_lifetime" json:"nonce_lifetime"`
	// MaxAuthFailures is how many failed digest authentications from one source address within
	// FailureWindow get that address blocked for BlockDuration. At least 1. Default 10.
	MaxAuthFailures int `yaml:"max_auth_failures" json:"max_auth_failures"`
	// FailureWindow is the window in which MaxAuthFailures are counted. Must be positive. Default 1m.
	FailureWindow Duration `yaml:"failure_window" json:"failure_window"`
	// BlockDuration is how long a blocked address is ignored (its requests get no answer); 0 turns
	// blocking off. Default 15m.
	BlockDuration Duration `yaml:"block_duration" json:"block_duration"`
	// KeepaliveInterval is the interval of keep-alive pings to contacts registered over UDP, so NAT
	// bindings stay open; 0 turns them off, otherwise at least 1s. Default 30s.
	KeepaliveInterval Duration `yaml:"keepalive_interval" json:"keepalive_interval"`
	// DigestAlgorithms are the digest algorithms challenges offer, one challenge header each, in this
	// order: MD5 and SHA-256 (RFC 8760). Default [MD5], as most PBXes send: several deployed phones
	// (Debian 12's baresip among them) give up on a challenge list with an algorithm they do not know.
	// With SHA-256 on, list it first ([SHA-256, MD5]) so phones that can pick it do.
	DigestAlgorithms []string `yaml:"digest_algorithms" json:"digest_algorithms"`
	// AccountFailureAlert is how many failed digest authentications for one user name (from any
	// address) within FailureWindow make the gateway log a warning naming the account, once per window:
	// a password being guessed from many addresses. At least 1. Default 20.
	AccountFailureAlert int `yaml:"account_failure_alert" json:"account_failure_alert"`
}

// Digest algorithms a challenge may offer (registrar.digest_algorithms).
const (
	DigestMD5    = "MD5"
	DigestSHA256 = "SHA-256"
)

// Calls configures call timers and caller-ID selection.
type Calls struct {
	// MediaTimeout hangs up a call when no RTP has arrived from either side for this long (not while the
	// call is on hold); 0 turns it off, otherwise at least 1s. Default 60s.
	MediaTimeout Duration `yaml:"media_timeout" json:"media_timeout"`
	// DrainTimeout is how long active calls may go on after SIGTERM before they are ended; 0 ends them at
	// once. Keep it below the service manager's stop timeout
	// (TimeoutStopSec=5min in deploy/teamline.service). Default 4m.
	DrainTimeout Duration `yaml:"drain_timeout" json:"drain_timeout"`
	// InviteTimeout is how long an outgoing INVITE may go without any response before Teamline fails over
	// to the next trunk or gives up on that fork. Must be positive. Default 10s.
	InviteTimeout Duration `yaml:"invite_timeout" json:"invite_timeout"`
	// CallerIDHeader names a header an agent's phone may set on an outbound INVITE to choose the
	// caller-ID number of that call (one of the team's numbers); "" disables it. A SIP header name (RFC
	// 3261 25.1 token), not one of the headers Teamline builds itself. Default "X-Teamline-Caller-ID".
	CallerIDHeader string `yaml:"caller_id_header" json:"caller_id_header"`
	// AcceptTimeout is how long an agent who answered has to press 1 when the account's
	// press_one_to_claim setting is on (R-IN-7); without the digit the agent's leg is hung up and the
	// call goes on as unanswered (voicemail). 2s to 2m. Default 15s.
	AcceptTimeout Duration `yaml:"accept_timeout" json:"accept_timeout"`
}

// Listener is one SIP listening socket.
type Listener struct {
	// Transport is udp, tcp or tls; ws and wss are reserved for WebRTC and refused for now.
	Transport string `yaml:"transport" json:"transport"`
	// Address is IP:port (an IP, not a host name); an empty host listens on all interfaces, port 0 on a
	// free port.
	Address string `yaml:"address" json:"address"`
	// TLSCert is the path of the PEM certificate (chain); required for tls and wss.
	TLSCert string `yaml:"tls_cert" json:"tls_cert"`
	// TLSKey is the path of the PEM private key; required for tls and wss.
	TLSKey string `yaml:"tls_key" json:"tls_key"`
}

// RTP configures media ports.
type RTP struct {
	// PortMin is the first RTP port (even; RTCP uses the next odd port). Default 20000.
	PortMin int `yaml:"port_min" json:"port_min"`
	// PortMax is the last port of the range. Default 30000.
	PortMax int `yaml:"port_max" json:"port_max"`
	// Advertise is the IP put in SDP instead of the local address, for a gateway behind NAT. Optional.
	Advertise string `yaml:"advertise" json:"advertise"`
	// Bind is the IP the media sockets bind to; "" binds all interfaces. Default "".
	Bind string `yaml:"bind" json:"bind"`
	// Quarantine is how long a released port pair waits before it is handed out again, so late packets
	// of the old call do not reach the new one; 0 reuses at once. Default 3s.
	Quarantine Duration `yaml:"quarantine" json:"quarantine"`
}

// Phone configures phone number handling.
type Phone struct {
	// DefaultRegion is the ISO 3166 alpha-2 region (uppercase) used to read numbers without a country
	// code. Default "US".
	DefaultRegion string `yaml:"default_region" json:"default_region"`
}

// Trunk is a SIP trunk to a carrier. A trunk from Load or DefaultTrunk starts from the defaults below; a
// Trunk literal does not (its Outbound is false and RegisterExpires 0), so build one from DefaultTrunk.
type Trunk struct {
	// Name identifies the trunk in routes, logs and CDRs: required, unique, [a-z0-9_-].
	Name string `yaml:"name" json:"name"`
	// Proxy is the carrier's SIP server as host:port.
	Proxy string `yaml:"proxy" json:"proxy"`
	// Transport is udp, tcp or tls. Default "udp".
	Transport string `yaml:"transport" json:"transport"`
	// Username for digest authentication and registration.
	Username string `yaml:"username" json:"username"`
	// Password for digest authentication and registration.
	Password Secret `yaml:"password" json:"password"`
	// Register makes Teamline send REGISTER to the proxy (needs Username and Password).
	Register bool `yaml:"register" json:"register"`
	// RegisterExpires is the registration period asked for in REGISTER; Teamline re-registers before
	// the period the carrier grants runs out. At least 60s, whole seconds; checked when Register is
	// set or the value is not 0. Default 1h.
	RegisterExpires Duration `yaml:"register_expires" json:"register_expires"`
	// InboundAddresses are the IPs or CIDRs the carrier sends calls from; requests from them are
	// accepted as this trunk's without authentication.
	InboundAddresses []string `yaml:"inbound_addresses" json:"inbound_addresses"`
	// InboundUsername and InboundPassword are digest credentials the carrier must answer a challenge
	// with when its INVITE comes from an address not in InboundAddresses. Both or neither; the username
	// is unique among trunks, as it names the trunk. A trunk with neither these nor InboundAddresses
	// takes no inbound calls.
	InboundUsername string `yaml:"inbound_username" json:"inbound_username"`
	// InboundPassword: see InboundUsername.
	InboundPassword Secret `yaml:"inbound_password" json:"inbound_password"`
	// FromDomain is the host part of the From URI on outbound calls and REGISTER; "" means the proxy's
	// host (see FromHost). A host name or IP address, no port. Default "".
	FromDomain string `yaml:"from_domain" json:"from_domain"`
	// CallerIDFormat is how the caller-ID number is written in the From user part on outbound calls:
	// CallerIDE164 (+15551234567), CallerIDE164NoPlus (15551234567) or CallerIDNational (the national
	// significant number, 5551234567 for NANP). Default "e164".
	CallerIDFormat string `yaml:"caller_id_format" json:"caller_id_format"`
	// Outbound makes the trunk carry outbound calls. Outbound trunks are tried in list order, failing
	// over to the next on 5xx, 408 or Calls.InviteTimeout. Default true.
	Outbound bool `yaml:"outbound" json:"outbound"`
}

// Values of Trunk.CallerIDFormat.
const (
	CallerIDE164       = "e164"
	CallerIDE164NoPlus = "e164_no_plus"
	CallerIDNational   = "national"
)

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
	// RTP configures the media port range.
	RTP RTP `yaml:"rtp" json:"rtp"`
	// Phone configures phone number handling.
	Phone Phone `yaml:"phone" json:"phone"`
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
}

// Phone configures phone number handling.
type Phone struct {
	// DefaultRegion is the ISO 3166 alpha-2 region (uppercase) used to read numbers without a country
	// code. Default "US".
	DefaultRegion string `yaml:"default_region" json:"default_region"`
}

// Trunk is a SIP trunk to a carrier.
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
	// InboundAddresses are the IPs or CIDRs the carrier sends calls from; requests from them are
	// accepted as this trunk's without authentication.
	InboundAddresses []string `yaml:"inbound_addresses" json:"inbound_addresses"`
}

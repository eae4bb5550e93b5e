package config

import "time"

// DefaultDSNFile is the SQLite file name used in DataDir when database.dsn is empty.
const DefaultDSNFile = "teamline.db"

// Default returns the built-in defaults. They validate, and teamline.example.yaml spells them out.
// Every call returns fresh slices, so callers may modify the result.
func Default() Config {
	return Config{
		DataDir: "./teamline-data",
		Log:     Log{Level: "info", Format: "text"},
		Database: Database{
			MaxOpenConns:    20,
			MaxIdleConns:    10,
			ConnMaxLifetime: Duration(5 * time.Minute),
		},
		HTTP: HTTP{
			Listen:       "127.0.0.1:8080",
			MaxBodyBytes: 1 << 20,
			ReadTimeout:  Duration(10 * time.Second),
			WriteTimeout: Duration(30 * time.Second),
		},
		SIP: SIP{
			Listen: []Listener{
				{Transport: "udp", Address: "0.0.0.0:5060"},
				{Transport: "tcp", Address: "0.0.0.0:5060"},
			},
			Realm:         "teamline",
			UserAgent:     "Teamline",
			UnknownSource: UnknownSourceReject,
			Limits: SIPLimits{
				MaxMessageBytes: maxUDPPayload,
				MaxHeaders:      512,
				MaxHeaderBytes:  16384,
				MaxBodyBytes:    32768,
				MaxURIBytes:     1024,
			},
		},
		Registrar: Registrar{
			MinExpires:          Duration(60 * time.Second),
			MaxExpires:          Duration(time.Hour),
			DefaultExpires:      Duration(time.Hour),
			NonceLifetime:       Duration(5 * time.Minute),
			MaxAuthFailures:     10,
			FailureWindow:       Duration(time.Minute),
			BlockDuration:       Duration(15 * time.Minute),
			KeepaliveInterval:   Duration(30 * time.Second),
			DigestAlgorithms:    []string{DigestMD5},
			AccountFailureAlert: 20,
		},
		Calls: Calls{
			MediaTimeout: Duration(60 * time.Second),
			// Below TimeoutStopSec=5min of deploy/teamline.service, so calls end before systemd kills us.
			DrainTimeout:   Duration(4 * time.Minute),
			InviteTimeout:  Duration(10 * time.Second),
			CallerIDHeader: "X-Teamline-Caller-ID",
			AcceptTimeout:  Duration(15 * time.Second),
		},
		Recording:    defaultRecording(),
		Voicemail:    defaultVoicemail(),
		RTP:          RTP{PortMin: 20000, PortMax: 30000, Quarantine: Duration(3 * time.Second)},
		Phone:        Phone{DefaultRegion: "US"},
		Verification: defaultVerification(),
	}
}

// defaulter is implemented by list element types whose entries start from defaults (a trunk without
// transport is udp), because a list in the file replaces the default list as a whole.
type defaulter interface {
	setDefaults()
}

// DefaultTrunk returns a trunk with the defaults a trunk in the file starts from: transport udp,
// register_expires 1h, caller_id_format e164, outbound true. Build Trunk values in code from it, since a
// Trunk literal has Outbound false.
func DefaultTrunk() Trunk {
	var t Trunk
	t.setDefaults()
	return t
}

// setDefaults runs before a trunk's keys are decoded, so a key in the file (outbound: false) overrides
// the default it sets.
func (t *Trunk) setDefaults() {
	t.Transport = "udp"
	t.RegisterExpires = Duration(time.Hour)
	t.CallerIDFormat = CallerIDE164
	t.Outbound = true
}

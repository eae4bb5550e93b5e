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
			Realm:     "teamline",
			UserAgent: "Teamline",
		},
		RTP:   RTP{PortMin: 20000, PortMax: 30000},
		Phone: Phone{DefaultRegion: "US"},
	}
}

// defaulter is implemented by list element types whose entries start from defaults (a trunk without
// transport is udp), because a list in the file replaces the default list as a whole.
type defaulter interface {
	setDefaults()
}

func (t *Trunk) setDefaults() { t.Transport = "udp" }

package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultReturnsFreshSlices(t *testing.T) {
	a := Default()
	a.SIP.Listen[0].Address = "changed"
	if b := Default(); b.SIP.Listen[0].Address == "changed" {
		t.Fatal("Default shares its listener slice between calls")
	}
}

// stripSource drops the line bookkeeping so loaded configs compare with Default.
func stripSource(c Config) Config {
	c.src = nil
	return c
}

func TestExampleLoadsToDefaults(t *testing.T) {
	t.Setenv(EnvDatabaseDSN, "")
	path := filepath.Join("..", "teamline.example.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s) = %v", path, err)
	}
	if got, want := stripSource(cfg), Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("example does not spell out the defaults:\n got %+v\nwant %+v", got, want)
	}
}

// TestExampleDocumentsEveryKey walks the Config type: every key must be present in the example (keys
// of list elements at least in a comment).
func TestExampleDocumentsEveryKey(t *testing.T) {
	t.Setenv(EnvDatabaseDSN, "")
	path := filepath.Join("..", "teamline.example.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(tp reflect.Type, prefix string, inList bool)
	walk = func(tp reflect.Type, prefix string, inList bool) {
		for name, i := range yamlFields(tp) {
			key := childPath(prefix, name)
			if inList {
				if !strings.Contains(string(text), name+":") && !strings.Contains(string(text), "  "+name+" ") {
					t.Errorf("example does not mention list element key %s", key)
				}
			} else if _, ok := cfg.src.lines[key]; !ok {
				t.Errorf("example lacks key %s", key)
			}
			ft := tp.Field(i).Type
			switch {
			case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Secret]():
				walk(ft, key, inList)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), key+"[]", true)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", false)
}

func TestLoadOverridesDefaults(t *testing.T) {
	path := writeConfig(t, `
data_dir: /var/lib/teamline
log: {level: debug}
database:
  conn_max_lifetime: 90s
http:
  listen: ":9000"
sip:
  listen:
    - transport: udp
      address: 10.0.0.5:5080
  advertise: sip.example.com
  unknown_source: drop
registrar:
  min_expires: 30s
  max_expires: 2h
  default_expires: 10m
  nonce_lifetime: 1m
  max_auth_failures: 3
  failure_window: 5m
  block_duration: 0s
  keepalive_interval: 0s
calls:
  media_timeout: 0s
  drain_timeout: 90s
  invite_timeout: 4s
  caller_id_header: ""
rtp:
  port_min: 40000
  port_max: 40100
  advertise: 203.0.113.7
  bind: 10.0.0.5
  quarantine: 500ms
phone:
  default_region: GB
trunks:
  - name: carrier-a
    proxy: sip.carrier.example:5060
    username: "4420"
    password: s3cret
    register: true
    inbound_addresses: [192.0.2.10, 198.51.100.0/24, "2001:db8::/32"]
  - name: carrier-b
    proxy: "[2001:db8::10]:5061"
    transport: tls
    register_expires: 10m
    from_domain: teamline.example.com
    caller_id_format: national
    outbound: false
    inbound_username: carrier-b-in
    inbound_password: s3cret-in
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/var/lib/teamline"
	want.Log.Level = "debug"
	want.Database.ConnMaxLifetime = Duration(90 * time.Second)
	want.HTTP.Listen = ":9000"
	want.SIP.Listen = []Listener{{Transport: "udp", Address: "10.0.0.5:5080"}}
	want.SIP.Advertise = "sip.example.com"
	want.SIP.UnknownSource = UnknownSourceDrop
	want.Registrar = Registrar{
		MinExpires: Duration(30 * time.Second), MaxExpires: Duration(2 * time.Hour), DefaultExpires: Duration(10 * time.Minute),
		NonceLifetime: Duration(time.Minute), MaxAuthFailures: 3, FailureWindow: Duration(5 * time.Minute),
		DigestAlgorithms: []string{DigestMD5}, AccountFailureAlert: 20,
	}
	want.Calls = Calls{DrainTimeout: Duration(90 * time.Second), InviteTimeout: Duration(4 * time.Second), AcceptTimeout: Duration(15 * time.Second)}
	want.RTP = RTP{PortMin: 40000, PortMax: 40100, Advertise: "203.0.113.7", Bind: "10.0.0.5", Quarantine: Duration(500 * time.Millisecond)}
	want.Phone.DefaultRegion = "GB"
	a := DefaultTrunk()
	a.Name, a.Proxy, a.Username, a.Password, a.Register = "carrier-a", "sip.carrier.example:5060", "4420", NewSecret("s3cret"), true
	a.InboundAddresses = []string{"192.0.2.10", "198.51.100.0/24", "2001:db8::/32"}
	b := Trunk{
		Name: "carrier-b", Proxy: "[2001:db8::10]:5061", Transport: "tls", RegisterExpires: Duration(10 * time.Minute),
		FromDomain: "teamline.example.com", CallerIDFormat: CallerIDNational, Outbound: false,
		InboundUsername: "carrier-b-in", InboundPassword: NewSecret("s3cret-in"),
	}
	want.Trunks = []Trunk{a, b}
	if got := stripSource(cfg); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoadEmptyFileGivesDefaults(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		cfg, err := Load(writeConfig(t, content))
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if !reflect.DeepEqual(stripSource(cfg), Default()) {
			t.Fatalf("%q: got %+v", content, cfg)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadProblems(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", "cert")
	key := writeFile(t, dir, "key.pem", "key")

	tests := []struct {
		name  string
		yaml  string
		wants []want
	}{
		// yaml v3 reports the line where the enclosing block starts.
		{"malformed YAML", "log:\n  level: info\n format: text\n", []want{{2, "", "invalid YAML: did not find expected key"}}},
		{"unclosed quote", "log:\n  level: \"info\n", []want{{2, "", "invalid YAML"}}},
		{"tab indentation", "log:\n\tlevel: info\n", []want{{2, "", "invalid YAML"}}},
		{"two documents", "log: {level: info}\n---\nlog: {level: warn}\n", []want{{2, "", "only one YAML document"}}},
		{"unknown top-level key", "data_dir: x\ndatabse:\n  dsn: x.db\n", []want{{2, "", `unknown key "databse" (did you mean "database"?)`}}},
		{"unknown nested key", "http:\n  listen: :80\n  max_body: 10\n", []want{{3, "http", `unknown key "max_body"`}}},
		{"unknown key in list element", "sip:\n  listen:\n    - transport: udp\n      adress: :5060\n",
			[]want{{3, "sip.listen[0].address", "is empty (want host:port)"}, {4, "sip.listen[0]", `unknown key "adress" (did you mean "address"?)`}}},
		{"duplicate key", "log:\n  level: info\n  level: warn\n", []want{{3, "log", `duplicate key "level" (first at line 2)`}}},
		{"top level not a mapping", "- a\n- b\n", []want{{1, "", "expected a mapping, got a list"}}},
		{"string expected", "data_dir: [a]\n", []want{{1, "data_dir", "expected a string, got a list"}}},
		{"integer expected", "rtp:\n  port_min: lots\n", []want{{2, "rtp.port_min", `expected an integer, got "lots"`}}},
		{"float is not an integer", "rtp:\n  port_min: 20000.5\n", []want{{2, "rtp.port_min", "expected an integer"}}},
		{"bool expected", "trunks:\n  - name: a\n    proxy: h:5060\n    register: yes\n", []want{{4, "trunks[0].register", `expected true or false, got "yes"`}}},
		{"bad duration", "http:\n  read_timeout: 10\n", []want{{2, "http.read_timeout", "not a duration"}}},
		{"bad port", "sip:\n  listen:\n    - {transport: udp, address: 0.0.0.0:5060}\n    - {transport: tcp, address: 0.0.0.0:70000}\n",
			[]want{{4, "sip.listen[1].address", `"0.0.0.0:70000": port out of range`}}},
		{"port not a number", "http:\n  listen: localhost:http\n", []want{{2, "http.listen", `port "http" is not a number`}}},
		{"missing port", "http:\n  listen: 127.0.0.1\n", []want{{2, "http.listen", "missing port"}}},
		{"bad host", "http:\n  listen: bad_host!:80\n", []want{{2, "http.listen", "is not an IP address or host name"}}},
		{"unknown transport", "sip:\n  listen:\n    - {transport: sctp, address: ':5060'}\n", []want{{3, "sip.listen[0].transport", `"sctp": want one of udp, tcp, tls, ws, wss`}}},
		{"no listeners", "sip:\n  listen: []\n", []want{{2, "sip.listen", "at least one listener"}}},
		{"same port twice", "sip:\n  listen:\n    - {transport: tcp, address: ':5060'}\n    - {transport: tls, address: ':5060', tls_cert: " + cert + ", tls_key: " + key + "}\n",
			[]want{{4, "sip.listen[1].address", "already used by sip.listen[0] (tcp)"}}},
		{"tls without cert", "sip:\n  listen:\n    - transport: tls\n      address: :5061\n",
			[]want{{3, "sip.listen[0].tls_cert", "tls needs a certificate file"}, {3, "sip.listen[0].tls_key", "tls needs a private key file"}}},
		{"tls with missing files", "sip:\n  listen:\n    - transport: tls\n      address: :5061\n      tls_cert: /nonexistent/c.pem\n      tls_key: " + dir + "\n",
			[]want{{5, "sip.listen[0].tls_cert", "file does not exist"}, {6, "sip.listen[0].tls_key", "not a regular file"}}},
		{"websocket not yet", "sip:\n  listen:\n    - {transport: udp, address: ':5060'}\n    - {transport: ws, address: ':8088'}\n",
			[]want{{4, "sip.listen[1].transport", "ws is not supported yet"}}},
		{"cert on udp", "sip:\n  listen:\n    - {transport: udp, address: ':5060', tls_cert: " + cert + "}\n", []want{{3, "sip.listen[0].tls_cert", "only used with tls and wss"}}},
		{"advertise with port", "sip:\n  advertise: 203.0.113.1:5060\n", []want{{2, "sip.advertise", "without a port"}}},
		{"advertise unspecified", "rtp:\n  advertise: 0.0.0.0\n", []want{{2, "rtp.advertise", "unspecified"}}},
		{"rtp advertise name", "rtp:\n  advertise: media.example.com\n", []want{{2, "rtp.advertise", "not an IP address"}}},
		{"realm with quote", "sip:\n  realm: 'a\"b'\n", []want{{2, "sip.realm", "quotes"}}},
		{"user agent with newline", "sip:\n  user_agent: \"a\\r\\nX-Evil: 1\"\n", []want{{2, "sip.user_agent", "control characters"}}},
		{"rtp odd min", "rtp:\n  port_min: 20001\n", []want{{2, "rtp.port_min", "must be even"}}},
		{"rtp min above max", "rtp:\n  port_min: 30000\n  port_max: 20000\n", []want{{3, "rtp.port_max", "greater than port_min"}}},
		{"rtp out of range", "rtp:\n  port_min: 80\n  port_max: 70000\n",
			[]want{{2, "rtp.port_min", "between 1024 and 65535"}, {3, "rtp.port_max", "between 1024 and 65535"}}},
		{"rtp max only, default min", "rtp:\n  port_max: 10000\n", []want{{2, "rtp.port_max", "greater than port_min (20000)"}}},
		{"bad region", "phone:\n  default_region: gb\n", []want{{2, "phone.default_region", `"gb": want an ISO 3166 two-letter region`}}},
		{"long region", "phone:\n  default_region: USA\n", []want{{2, "phone.default_region", "two-letter"}}},
		{"empty data dir", "data_dir: \"\"\n", []want{{1, "data_dir", "must not be empty"}}},
		{"log level", "log:\n  level: verbose\n  format: xml\n",
			[]want{{2, "log.level", `"verbose": want one of debug, info, warn, error`}, {3, "log.format", "want one of text, json"}}},
		{"negative values", "database:\n  max_open_conns: -1\n  conn_max_lifetime: -5m\nhttp:\n  max_body_bytes: 0\n",
			[]want{{2, "database.max_open_conns", "must not be negative"}, {3, "database.conn_max_lifetime", "must not be negative"}, {5, "http.max_body_bytes", "must be positive"}}},
		{"idle above open", "database:\n  max_open_conns: 5\n", []want{{2, "database.max_idle_conns", "must not exceed max_open_conns (5)"}}},
		{"bad sqlite-less dsn", "database:\n  dsn: teamline\n", []want{{2, "database.dsn", "not a recognised form"}}},
		{"unsupported scheme", "database:\n  dsn: postgres://u:pw@h/db\n", []want{{2, "database.dsn", "not a recognised form"}}},
		{"bad mysql url", "database:\n  dsn: mysql://u:pw@db.example:99999/teamline\n", []want{{2, "database.dsn", "port out of range"}}},
		{"mysql url without db", "database:\n  dsn: mysql://u:pw@db.example\n", []want{{2, "database.dsn", "needs the database name"}}},
		{"bad mysql driver dsn", "database:\n  dsn: u:pw@tcp(db.example:3306/teamline\n", []want{{2, "database.dsn", "network address not terminated"}}},
		{"mysql driver dsn without db", "database:\n  dsn: u:pw@tcp(db.example:3306)/\n", []want{{2, "database.dsn", "no database name"}}},
		{"mysql driver dsn bad param", "database:\n  dsn: u:pw@tcp(db:3306)/teamline?parseTime=maybe\n", []want{{2, "database.dsn", "invalid bool value"}}},
		{"trunk problems", `trunks:
  - name: Carrier A
    proxy: sip.example.com
    transport: ws
    register: true
    inbound_addresses: [192.0.2.300, 10.0.0.0/33]
  - name: b
    proxy: sip.example.com:5060
    password: x
`, []want{
			{2, "trunks[0].name", `"Carrier A": use 1 to 64 characters`},
			// Absent keys are reported at the line of the nearest present parent: the trunk.
			{2, "trunks[0].username", "required when register is true"},
			{2, "trunks[0].password", "required when register is true"},
			{3, "trunks[0].proxy", `"sip.example.com": missing port`},
			{4, "trunks[0].transport", `"ws": want one of udp, tcp, tls`},
			{6, "trunks[0].inbound_addresses[0]", "not an IP address or CIDR"},
			{6, "trunks[0].inbound_addresses[1]", "not a CIDR prefix"},
			{7, "trunks[1].username", "required when a password is set"},
		}},
		{"duplicate trunk names", "trunks:\n  - {name: a, proxy: 'h:5060'}\n  - {name: b, proxy: 'h:5060'}\n  - {name: a, proxy: 'h:5060'}\n",
			[]want{{4, "trunks[2].name", `"a": duplicate trunk name (also trunks[0])`}}},
		{"trunk without name", "trunks:\n  - proxy: h:5060\n", []want{{2, "trunks[0].name", "required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path)
			checkProblems(t, err, path, tt.wants)
		})
	}
}

func TestLoadReportsAllProblemsTogether(t *testing.T) {
	path := writeConfig(t, `data_dir: ./data
log:
  level: loud
databse: {}
sip:
  listen:
    - transport: udp
      address: 0.0.0.0:70000
phone:
  default_region: usa
trunks:
  - {name: a, proxy: "h:5060"}
  - {name: a, proxy: "h:5060"}
`)
	_, err := Load(path)
	checkProblems(t, err, path, []want{
		{3, "log.level", `"loud"`},
		{4, "", `unknown key "databse"`},
		{8, "sip.listen[0].address", "port out of range"},
		{10, "phone.default_region", `"usa"`},
		{13, "trunks[1].name", "duplicate trunk name"},
	})
	msg := err.Error()
	for _, s := range []string{path + ":3: log.level:", path + ":4: unknown key", path + ":8: sip.listen[0].address: \"0.0.0.0:70000\": port out of range"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error text lacks %q:\n%s", s, msg)
		}
	}
}

func TestAliasesAreFollowed(t *testing.T) {
	path := writeConfig(t, `
x-addrs: &carrier [192.0.2.1, 192.0.2.2]
`)
	// x-addrs is not a key: anchors must be defined inside known keys.
	if _, err := Load(path); err == nil {
		t.Fatal("unknown key with anchor accepted")
	}
	path = writeConfig(t, `
trunks:
  - name: a
    proxy: h:5060
    inbound_addresses: &carrier [192.0.2.1, 192.0.2.2]
  - name: b
    proxy: h:5060
    inbound_addresses: *carrier
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Trunks[1].InboundAddresses; !reflect.DeepEqual(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Fatalf("alias gave %v", got)
	}
}

func TestAliasBombIsRefused(t *testing.T) {
	// 2,000 trunks, each an alias of one trunk whose inbound_addresses alias a list of 2,000 addresses:
	// a 30 kB file that expands to 4 million values.
	var b strings.Builder
	b.WriteString("trunks:\n  - &t {name: a, proxy: 'h:5060', inbound_addresses: [" + strings.Repeat("1.1.1.1, ", 1999) + "1.1.1.1]}\n")
	b.WriteString(strings.Repeat("  - *t\n", 1999))
	path := writeConfig(t, b.String())
	_, err := Load(path)
	ps := problemsOf(t, err)
	if !strings.Contains(ps[0].Reason, "too many alias expansions") {
		t.Fatalf("first problem = %v", ps[0])
	}
}

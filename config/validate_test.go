package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problems with the registrar, calls, rtp and trunk keys, each with the line a user looks at.
func TestLoadProblemsCallKeys(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		wants []want
	}{
		{"unknown source", "sip:\n  unknown_source: ignore\n", []want{{2, "sip.unknown_source", `"ignore": want one of reject, drop`}}},
		{"min expires zero", "registrar:\n  min_expires: 0s\n", []want{{2, "registrar.min_expires", "must be at least 1s"}}},
		// max_expires is not in the file: the problem is at the line of the nearest present parent.
		{"min above max", "registrar:\n  min_expires: 2h\n", []want{{2, "registrar.max_expires", "must not be less than min_expires (2h0m0s)"}}},
		{"default below min", "registrar:\n  default_expires: 30s\n",
			[]want{{2, "registrar.default_expires", "between min_expires (1m0s) and max_expires (1h0m0s)"}}},
		{"default above max", "registrar:\n  max_expires: 10m\n  default_expires: 20m\n", []want{{3, "registrar.default_expires", "between min_expires"}}},
		{"expires not whole seconds", "registrar:\n  max_expires: 90500ms\n", []want{{2, "registrar.max_expires", "whole seconds"}}},
		{"registrar limits", "registrar:\n  nonce_lifetime: 0s\n  max_auth_failures: 0\n  failure_window: -1m\n  block_duration: -1s\n  keepalive_interval: 500ms\n",
			[]want{
				{2, "registrar.nonce_lifetime", "must be positive"},
				{3, "registrar.max_auth_failures", "0: must be at least 1"},
				{4, "registrar.failure_window", "must be positive"},
				{5, "registrar.block_duration", "must not be negative"},
				{6, "registrar.keepalive_interval", "must be 0 (off) or at least 1s"},
			}},
		{"negative keepalive", "registrar:\n  keepalive_interval: -30s\n", []want{{2, "registrar.keepalive_interval", "must not be negative (0 turns it off)"}}},
		{"no digest algorithms", "registrar:\n  digest_algorithms: []\n", []want{{2, "registrar.digest_algorithms", "must list at least one of MD5, SHA-256"}}},
		{"digest algorithms null", "registrar:\n  digest_algorithms:\n", []want{{2, "registrar.digest_algorithms", "must list at least one"}}},
		{"digest algorithms not a list", "registrar:\n  digest_algorithms: MD5\n", []want{{2, "registrar.digest_algorithms", `expected a list, got "MD5"`}}},
		{"digest algorithm unknown or in lower case", "registrar:\n  digest_algorithms:\n    - SHA-256\n    - md5\n    - SHA-512-256\n",
			[]want{
				{4, "registrar.digest_algorithms[1]", `"md5": must be MD5 or SHA-256`},
				{5, "registrar.digest_algorithms[2]", `"SHA-512-256": must be MD5 or SHA-256`},
			}},
		{"digest algorithm twice", "registrar:\n  digest_algorithms: [MD5, SHA-256, MD5]\n", []want{{2, "registrar.digest_algorithms[2]", `"MD5": given twice`}}},
		{"account failure alert zero", "registrar:\n  account_failure_alert: 0\n", []want{{2, "registrar.account_failure_alert", "0: must be at least 1"}}},
		{"account failure alert negative", "registrar:\n  account_failure_alert: -5\n", []want{{2, "registrar.account_failure_alert", "-5: must be at least 1"}}},
		{"account failure alert not a number", "registrar:\n  account_failure_alert: many\n", []want{{2, "registrar.account_failure_alert", `expected an integer, got "many"`}}},
		{"sip limits below range", "sip:\n  limits:\n    max_message_bytes: 1023\n    max_headers: 15\n    max_header_bytes: 255\n    max_body_bytes: 255\n    max_uri_bytes: 63\n",
			[]want{
				{3, "sip.limits.max_message_bytes", "1023: must be 1024 to 65507"},
				{4, "sip.limits.max_headers", "15: must be 16 to 4096"},
				{5, "sip.limits.max_header_bytes", "255: must be 256 to 65507"},
				{6, "sip.limits.max_body_bytes", "255: must be 256 to 65507"},
				{7, "sip.limits.max_uri_bytes", "63: must be 64 to 8192"},
			}},
		{"sip limits above range", "sip:\n  limits:\n    max_message_bytes: 65508\n    max_headers: 4097\n    max_header_bytes: 65508\n    max_body_bytes: 65508\n    max_uri_bytes: 8193\n",
			[]want{
				{3, "sip.limits.max_message_bytes", "65508: must be 1024 to 65507"},
				{4, "sip.limits.max_headers", "4097: must be 16 to 4096"},
				{5, "sip.limits.max_header_bytes", "65508: must be 256 to 65507"},
				{6, "sip.limits.max_body_bytes", "65508: must be 256 to 65507"},
				{7, "sip.limits.max_uri_bytes", "8193: must be 64 to 8192"},
			}},
		{"sip limits unknown key", "sip:\n  limits:\n    max_message_size: 2048\n", []want{{3, "sip.limits", `unknown key "max_message_size"`}}},
		{"sip limits not a number", "sip:\n  limits:\n    max_headers: 1e3\n", []want{{3, "sip.limits.max_headers", `expected an integer, got "1e3"`}}},
		{"accept timeout", "calls:\n  accept_timeout: 1s\n", []want{{2, "calls.accept_timeout", "must be 2s to 2m"}}},
		{"recording keys", "recording:\n  save_window: 30s\n  sweep_interval: 0s\n  two_party_regions: [CA, texas]\n  area_codes: /nonexistent/codes.csv\n",
			[]want{
				{2, "recording.save_window", "must be at least 1m"},
				{3, "recording.sweep_interval", "must be at least 1s"},
				{4, "recording.two_party_regions[1]", `"texas": want a two-letter region code`},
				{5, "recording.area_codes", "file does not exist"},
			}},
		{"voicemail length", "voicemail:\n  max_length: 2h\n", []want{{2, "voicemail.max_length", "must be 10s to 1h"}}},
		{"prompt file missing", "prompts:\n  consent: /nonexistent/consent.wav\n", []want{{2, "prompts.consent", "file does not exist"}}},
		{"unknown prompt", "prompts:\n  welcome: /tmp/x.wav\n", []want{{2, "prompts", `unknown key "welcome"`}}},
		{"call timers", "calls:\n  media_timeout: 100ms\n  drain_timeout: -1s\n  invite_timeout: 0s\n",
			[]want{
				{2, "calls.media_timeout", "must be 0 (off) or at least 1s"},
				{3, "calls.drain_timeout", "must not be negative"},
				{4, "calls.invite_timeout", "must be positive"},
			}},
		{"caller id header with space", "calls:\n  caller_id_header: X Caller\n", []want{{2, "calls.caller_id_header", `"X Caller": not a SIP header name`}}},
		{"caller id header with colon", "calls:\n  caller_id_header: 'X-Caller:'\n", []want{{2, "calls.caller_id_header", "not a SIP header name"}}},
		{"caller id header injection", "calls:\n  caller_id_header: \"X-A\\r\\nVia\"\n", []want{{2, "calls.caller_id_header", "not a SIP header name"}}},
		{"caller id header standard", "calls:\n  caller_id_header: from\n", []want{{2, "calls.caller_id_header", "a standard header Teamline sets itself"}}},
		{"caller id header compact", "calls:\n  caller_id_header: f\n", []want{{2, "calls.caller_id_header", "compact forms"}}},
		{"rtp bind name", "rtp:\n  bind: eth0\n", []want{{2, "rtp.bind", `"eth0": not an IP address`}}},
		{"rtp bind with port", "rtp:\n  bind: 10.0.0.1:20000\n", []want{{2, "rtp.bind", "not an IP address"}}},
		{"rtp negative quarantine", "rtp:\n  quarantine: -3s\n", []want{{2, "rtp.quarantine", "must not be negative"}}},
		{"trunk without proxy", "trunks:\n  - name: a\n", []want{{2, "trunks[0].proxy", "is empty (want host:port)"}}},
		{"trunk new keys", `trunks:
  - name: a
    proxy: h:5060
    username: u
    password: p
    register: true
    register_expires: 30s
    from_domain: sip.example.com:5060
    caller_id_format: E164
    inbound_password: secret-a
  - name: b
    proxy: h:5060
    register_expires: 90500ms
    from_domain: "sip:example.com"
    inbound_username: b-in
  - name: c
    proxy: h:5060
    from_domain: "[not-v6]"
    inbound_username: in
    inbound_password: secret-c
  - name: d
    proxy: h:5060
    inbound_username: in
    inbound_password: secret-d
`, []want{
			{2, "trunks[0].inbound_username", "required when inbound_password is set"},
			{7, "trunks[0].register_expires", "30s: must be at least 1m0s"},
			{8, "trunks[0].from_domain", "without a port"},
			{9, "trunks[0].caller_id_format", `"E164": want one of e164, e164_no_plus, national`},
			{11, "trunks[1].inbound_password", "required when inbound_username is set"},
			{13, "trunks[1].register_expires", "whole seconds"},
			{14, "trunks[1].from_domain", "without the sip: scheme"},
			{18, "trunks[2].from_domain", "not an IPv6 address in brackets"},
			{23, "trunks[3].inbound_username", `"in": also the inbound_username of trunks[2]`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path)
			checkProblems(t, err, path, tt.wants)
		})
	}
}

// Values at the edges of what is allowed load.
func TestLoadCallKeysEdges(t *testing.T) {
	path := writeConfig(t, `
sip:
  unknown_source: drop
registrar:
  min_expires: 1s
  max_expires: 1s
  default_expires: 1s
  block_duration: 0s
  keepalive_interval: 1s
calls:
  media_timeout: 0s
  drain_timeout: 0s
  caller_id_header: P-Teamline.Caller_ID
rtp:
  bind: "::1"
  quarantine: 0s
trunks:
  - name: a
    proxy: h:5060
    register_expires: 60s
    from_domain: "[2001:db8::1]"
    caller_id_format: e164_no_plus
  - name: b
    proxy: h:5060
    from_domain: 192.0.2.1
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Trunks[0].FromHost() != "2001:db8::1" || cfg.Trunks[1].FromHost() != "192.0.2.1" {
		t.Errorf("FromHost = %q, %q", cfg.Trunks[0].FromHost(), cfg.Trunks[1].FromHost())
	}
}

// The digest algorithms, the account alert and the SIP limits at both ends of their ranges load as
// written, in the order written.
func TestLoadEdgeKeysSIPLimitsAndDigest(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		algorithms []string
		alert      int
		limits     SIPLimits
	}{
		{"lowest", `
registrar:
  digest_algorithms: [SHA-256, MD5]
  account_failure_alert: 1
sip:
  limits: {max_message_bytes: 1024, max_headers: 16, max_header_bytes: 256, max_body_bytes: 256, max_uri_bytes: 64}
`, []string{DigestSHA256, DigestMD5}, 1, SIPLimits{1024, 16, 256, 256, 64}},
		{"highest", `
registrar:
  digest_algorithms: [SHA-256]
  account_failure_alert: 1000000
sip:
  limits: {max_message_bytes: 65507, max_headers: 4096, max_header_bytes: 65507, max_body_bytes: 65507, max_uri_bytes: 8192}
`, []string{DigestSHA256}, 1000000, SIPLimits{65507, 4096, 65507, 65507, 8192}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Registrar
			if !reflect.DeepEqual(r.DigestAlgorithms, tt.algorithms) || r.AccountFailureAlert != tt.alert || cfg.SIP.Limits != tt.limits {
				t.Errorf("digest_algorithms %v, account_failure_alert %d, limits %+v; want %v, %d, %+v",
					r.DigestAlgorithms, r.AccountFailureAlert, cfg.SIP.Limits, tt.algorithms, tt.alert, tt.limits)
			}
		})
	}
	// Left out, they are the defaults: MD5 alone, 20, and the limits of the example config.
	cfg, err := Load(writeConfig(t, "registrar:\n  min_expires: 60s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := SIPLimits{MaxMessageBytes: 65507, MaxHeaders: 512, MaxHeaderBytes: 16384, MaxBodyBytes: 32768, MaxURIBytes: 1024}
	if r := cfg.Registrar; !reflect.DeepEqual(r.DigestAlgorithms, []string{DigestMD5}) || r.AccountFailureAlert != 20 || cfg.SIP.Limits != want {
		t.Errorf("defaults: digest_algorithms %v, account_failure_alert %d, limits %+v", r.DigestAlgorithms, r.AccountFailureAlert, cfg.SIP.Limits)
	}
}

// A trunk in the file starts from the trunk defaults, so a key left out keeps them and a bool whose
// default is true can still be turned off, in block style, flow style and through an alias.
func TestTrunkDefaultsAndOutboundFalse(t *testing.T) {
	path := writeConfig(t, `
trunks:
  - name: a
    proxy: h:5060
  - name: b
    proxy: h:5060
    outbound: &off false
  - {name: c, proxy: "h:5060", outbound: false}
  - name: d
    proxy: h:5060
    outbound: *off
  - name: f
    proxy: h:5060
    outbound: true
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []bool{true, false, false, false, true}
	for i, tr := range cfg.Trunks {
		if tr.Outbound != wantOut[i] {
			t.Errorf("trunks[%d].outbound = %v, want %v", i, tr.Outbound, wantOut[i])
		}
	}
	a := cfg.Trunks[0]
	if a.Transport != "udp" || a.RegisterExpires != Duration(time.Hour) || a.CallerIDFormat != CallerIDE164 ||
		a.FromDomain != "" || a.InboundUsername != "" || a.InboundPassword.IsSet() {
		t.Errorf("trunk without keys = %+v, want the trunk defaults", a)
	}
	want := DefaultTrunk()
	want.Name, want.Proxy = "a", "h:5060"
	if !reflect.DeepEqual(a, want) {
		t.Errorf("trunk a = %+v\nwant DefaultTrunk with name and proxy: %+v", a, want)
	}
	// DefaultTrunk gives fresh values and a config built from it validates.
	c := Default()
	c.Trunks = []Trunk{want}
	if err := c.Validate(); err != nil {
		t.Errorf("config with DefaultTrunk: %v", err)
	}
}

// A trunk built in code without register need not set RegisterExpires; with register it must.
func TestValidateRegisterExpiresInCode(t *testing.T) {
	c := Default()
	c.Trunks = []Trunk{{Name: "a", Proxy: "h:5060", Transport: "udp", CallerIDFormat: CallerIDE164}}
	if err := c.Validate(); err != nil {
		t.Fatalf("trunk literal without register: %v", err)
	}
	c.Trunks[0].Register, c.Trunks[0].Username, c.Trunks[0].Password = true, "u", NewSecret("p")
	ps := problemsOf(t, c.Validate())
	if len(ps) != 1 || ps[0].Path != "trunks[0].register_expires" || ps[0].Line != 0 || ps[0].File != "" {
		t.Fatalf("problems = %v, want one at trunks[0].register_expires without file and line", ps)
	}
}

func TestTrunkProxyHost(t *testing.T) {
	for proxy, want := range map[string]string{
		"sip.example.com:5060": "sip.example.com",
		"192.0.2.1:5060":       "192.0.2.1",
		"[2001:db8::1]:5061":   "2001:db8::1",
		"sip.example.com":      "",
		"":                     "",
	} {
		tr := Trunk{Proxy: proxy}
		if got := tr.ProxyHost(); got != want {
			t.Errorf("Trunk{Proxy: %q}.ProxyHost() = %q, want %q", proxy, got, want)
		}
		if got := tr.FromHost(); got != want {
			t.Errorf("Trunk{Proxy: %q}.FromHost() = %q, want the proxy host %q", proxy, got, want)
		}
	}
	tr := Trunk{Proxy: "sip.carrier.example:5060", FromDomain: "teamline.example.com"}
	if got := tr.FromHost(); got != "teamline.example.com" {
		t.Errorf("FromHost() = %q, want from_domain", got)
	}
}

// The inbound password is a Secret like the others: never printed, marshalled, logged, or quoted in a
// problem.
func TestInboundPasswordNeverShown(t *testing.T) {
	t.Setenv("TL_TEST_INBOUND_PW", testPassword)
	path := writeConfig(t, `
trunks:
  - name: a
    proxy: h:5060
    inbound_username: carrier-in
    inbound_password: {env: TL_TEST_INBOUND_PW}
`)
	cfg, err := LoadFor(path, SecretTrunks)
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Trunks[0]
	if tr.InboundPassword.Value() != testPassword {
		t.Fatalf("inbound_password = %q", tr.InboundPassword.Value())
	}
	var outputs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs = append(outputs, fmt.Sprintf(f, cfg), fmt.Sprintf(f, tr), fmt.Sprintf(f, tr.InboundPassword))
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(y), string(j), cfg.Database.Redacted())
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "trunk", tr, "pw", tr.InboundPassword)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "config", cfg)
	outputs = append(outputs, logs.String())
	for _, out := range outputs {
		if strings.Contains(out, testPassword) {
			t.Errorf("inbound password shown: %s", out)
		}
	}
	if !strings.Contains(string(y), "inbound_password: <redacted>") || !strings.Contains(string(j), `"inbound_password":"\u003credacted\u003e"`) {
		t.Errorf("inbound_password not marshalled as <redacted>:\n%s\n%s", y, j)
	}

	// Problems next to the password (its username missing, the rest of the trunk wrong) never quote it.
	for _, text := range []string{
		"trunks:\n  - name: a\n    proxy: h:5060\n    inbound_password: " + testPassword + "\n",
		"trunks:\n  - name: a\n    proxy: h:5060\n    inbound_password: " + testPassword + "\n    inbound_username: \"a\\x01\"\n    caller_id_format: x\n",
		"trunks:\n  - name: a\n    proxy: h:5060\n    inbound_username: in\n    inbound_password: {env: TL_TEST_INBOUND_PW}\n  - name: b\n    proxy: h:5060\n    inbound_username: in\n    inbound_password: {env: TL_TEST_INBOUND_PW}\n",
	} {
		_, err := Load(writeConfig(t, text))
		if err == nil {
			t.Fatalf("accepted:\n%s", text)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("problem reveals the inbound password: %v", err)
		}
	}
	c := Default()
	c.Trunks = []Trunk{{Name: "a", Proxy: "h:5060", Transport: "udp", CallerIDFormat: CallerIDE164, InboundPassword: NewSecret(testPassword)}}
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), testPassword) {
		t.Errorf("Validate() = %v; want a problem that does not quote the password", err)
	}
}

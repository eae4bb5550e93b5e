package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const testPassword = "Sup3r-S3cret!"

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "pw", testPassword+"\n")
	crlfFile := writeFile(t, dir, "pw-crlf", testPassword+"\r\n")

	tests := []struct {
		name     string
		password string // YAML value of trunks[0].password
		env      map[string]string
		want     string
	}{
		{"plain", testPassword, nil, testPassword},
		{"quoted", `"` + testPassword + `"`, nil, testPassword},
		{"empty", `""`, nil, ""},
		{"null", ``, nil, ""},
		{"env", "{env: TL_TEST_PW}", map[string]string{"TL_TEST_PW": testPassword}, testPassword},
		{"env block", "\n      env: TL_TEST_PW", map[string]string{"TL_TEST_PW": testPassword}, testPassword},
		{"file", "{file: " + pwFile + "}", nil, testPassword},
		{"file with CRLF", "{file: " + crlfFile + "}", nil, testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			path := writeConfig(t, "trunks:\n  - name: a\n    proxy: h:5060\n    username: u\n    password: "+tt.password+"\n")
			cfg, err := LoadFor(path, SecretTrunks)
			if err != nil {
				t.Fatal(err)
			}
			pw := cfg.Trunks[0].Password
			if pw.Value() != tt.want || pw.IsSet() != (tt.want != "") {
				t.Fatalf("Value() = %q, IsSet() = %v; want %q", pw.Value(), pw.IsSet(), tt.want)
			}
		})
	}
}

func TestSecretSourceErrors(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty", "\n")
	big := writeFile(t, dir, "big", strings.Repeat("x", maxSecretFileSize+1))
	t.Setenv("TL_TEST_EMPTY", "")

	tests := []struct {
		name     string
		password string
		// read: the reference is well formed and fails only when read, so Load accepts it and a
		// command that uses trunks (LoadFor with SecretTrunks) is refused.
		read   bool
		reason string
	}{
		{"missing env", "{env: TL_TEST_NOT_SET_ANYWHERE}", true, "environment variable TL_TEST_NOT_SET_ANYWHERE is not set"},
		{"empty env", "{env: TL_TEST_EMPTY}", true, "environment variable TL_TEST_EMPTY is empty"},
		{"missing file", "{file: " + filepath.Join(dir, "nope") + "}", true, "no such file"},
		{"directory", "{file: " + dir + "}", true, "not a regular file"},
		{"empty file", "{file: " + empty + "}", true, "is empty"},
		{"big file", "{file: " + big + "}", true, "larger than"},
		{"unknown source", "{vault: x}", false, `unknown key "vault" (expected env or file)`},
		{"two sources", "{env: A, file: B}", false, "exactly one"},
		{"list", "[a, b]", false, "expected a string, {env: NAME} or {file: PATH}, got a list"},
		{"empty env name", "{env: ''}", false, "expected {env: NAME} or {file: PATH}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "trunks:\n  - name: a\n    proxy: h:5060\n    username: u\n    password: "+tt.password+"\n")
			wants := []want{{5, "trunks[0].password", tt.reason}}
			if !tt.read {
				// A malformed reference is refused whatever the command.
				_, err := Load(path)
				checkProblems(t, err, path, wants)
				return
			}
			for _, need := range []Secrets{0, SecretDatabase | SecretVerification} {
				cfg, err := LoadFor(path, need)
				if err != nil {
					t.Fatalf("LoadFor(%b), trunk secrets not needed: %v", need, err)
				}
				if pw := cfg.Trunks[0].Password; !pw.IsSet() || pw.Value() != "" {
					t.Fatalf("unread password: IsSet() = %v, Value() = %q", pw.IsSet(), pw.Value())
				}
			}
			_, err := LoadFor(path, SecretTrunks)
			checkProblems(t, err, path, wants)
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, cfg.ResolveSecrets(AllSecrets), path, wants)
		})
	}
}

func TestDatabaseDSNFromEnvAndFile(t *testing.T) {
	dsn := "teamline:" + testPassword + "@tcp(db.example.com:3306)/teamline"
	t.Run("env", func(t *testing.T) {
		path := writeConfig(t, "database:\n  dsn: {env: TL_TEST_DSN}\n")
		t.Setenv("TL_TEST_DSN", dsn)
		cfg, err := LoadFor(path, SecretDatabase)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Database.DSN.Value() != dsn {
			t.Fatalf("dsn = %q", cfg.Database.DSN.Value())
		}
	})
	t.Run("file", func(t *testing.T) {
		path := writeConfig(t, "")
		file := writeFile(t, filepath.Dir(path), "dsn", dsn+"\n")
		if err := os.WriteFile(path, []byte("database:\n  dsn: {file: "+file+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadFor(path, SecretDatabase)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Database.DSN.Value() != dsn {
			t.Fatalf("dsn = %q", cfg.Database.DSN.Value())
		}
	})
}

func TestEnvOverridesDatabaseDSN(t *testing.T) {
	path := writeConfig(t, "database:\n  dsn: file-dsn.db\n")
	override := "mysql://teamline:" + testPassword + "@db.example.com/teamline"
	t.Setenv(EnvDatabaseDSN, override)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Database.DSN.Value(); got != override {
		t.Fatalf("dsn = %q, want the override", got)
	}
	if driver, _, err := cfg.Database.Driver(cfg.DataDir); err != nil || driver != DriverMySQL {
		t.Fatalf("Driver() = %q, %v", driver, err)
	}

	// A bad override is reported without a file line and without the password.
	t.Setenv(EnvDatabaseDSN, "mysql://teamline:"+testPassword+"@db.example.com:99999/teamline")
	_, err = Load(path)
	checkProblems(t, err, path, []want{{0, "database.dsn", "port out of range (value from environment variable TEAMLINE_DATABASE_DSN)"}})
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("error reveals the password: %v", err)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	cfg := Default()
	cfg.Database.DSN = NewSecret("teamline:" + testPassword + "@tcp(db:3306)/teamline")
	cfg.Trunks = []Trunk{{Name: "a", Proxy: "h:5060", Transport: "udp", Username: "u", Password: NewSecret(testPassword)}}

	var outputs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs = append(outputs, fmt.Sprintf(f, cfg), fmt.Sprintf(f, cfg.Trunks[0].Password))
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(y), string(j))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "password", cfg.Trunks[0].Password, "trunk", cfg.Trunks[0])
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "password", cfg.Trunks[0].Password, "config", cfg)
	outputs = append(outputs, logs.String())

	for _, out := range outputs {
		if strings.Contains(out, testPassword) {
			t.Errorf("password printed: %s", out)
		}
	}
	if !strings.Contains(string(y), "password: <redacted>") || !strings.Contains(string(j), `"password":"\u003credacted\u003e"`) {
		t.Errorf("marshalled secrets not shown as <redacted>:\n%s\n%s", y, j)
	}
	if s := (Secret{}); s.String() != "" || s.IsSet() {
		t.Errorf("unset secret: String() = %q, IsSet() = %v", s.String(), s.IsSet())
	}
}

// A command reads only the secrets it uses: Load reads none, LoadFor the ones asked for, and the
// problems of the others wait until a command that needs them (teamline serve) loads the file.
func TestSecretsReadOnlyWhenNeeded(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "inbound-pw")
	path := writeConfig(t, `database:
  dsn: {env: TL_TEST_DSN}
verification:
  sender: webhook
  webhook_url: https://sms.example.com/send
  webhook_token: {env: TL_TEST_UNSET_TOKEN}
trunks:
  - name: carrier
    proxy: sip.carrier.example:5060
    username: "4420000000"
    password: {env: TL_TEST_UNSET_PW}
    register: true
    inbound_username: carrier-in
    inbound_password: {file: `+missing+`}
`)
	dsn := "mysql://teamline:" + testPassword + "@db.example.com:3306/teamline"
	t.Setenv("TL_TEST_DSN", dsn)
	for _, name := range []string{"TL_TEST_UNSET_PW", "TL_TEST_UNSET_TOKEN"} {
		t.Setenv(name, "")
		os.Unsetenv(name) // t.Setenv restores it afterwards
	}

	// Nothing read: the references count as given (register needs a password) but have no value,
	// and the DSN cannot be used by mistake as the SQLite default.
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if pw := cfg.Trunks[0].Password; !pw.pending || pw.Value() != "" {
		t.Fatalf("trunk password after Load: pending %v, value %q", pw.pending, pw.Value())
	}
	if _, _, err := cfg.Database.Driver(cfg.DataDir); err == nil || !strings.Contains(err.Error(), "environment variable TL_TEST_DSN has not been read") {
		t.Fatalf("Driver() before the DSN is read: %v", err)
	}

	// A directory command: the DSN only.
	cfg, err = LoadFor(path, SecretDatabase)
	if err != nil {
		t.Fatalf("LoadFor(SecretDatabase): %v", err)
	}
	if driver, _, err := cfg.Database.Driver(cfg.DataDir); err != nil || driver != DriverMySQL || cfg.Database.DSN.Value() != dsn {
		t.Fatalf("DSN = %q, Driver() = %q, %v", cfg.Database.DSN.Value(), driver, err)
	}
	if !cfg.Trunks[0].Password.pending || !cfg.Trunks[0].InboundPassword.pending || !cfg.Verification.WebhookToken.pending {
		t.Fatal("LoadFor(SecretDatabase) read other secrets")
	}

	// The gateway: everything, every problem at its line.
	wants := []want{
		{6, "verification.webhook_token", "environment variable TL_TEST_UNSET_TOKEN is not set"},
		{11, "trunks[0].password", "environment variable TL_TEST_UNSET_PW is not set"},
		{14, "trunks[0].inbound_password", "secret file: stat " + missing + ": no such file or directory"},
	}
	_, err = LoadFor(path, AllSecrets)
	checkProblems(t, err, path, wants)
	if !strings.Contains(err.Error(), path+":11: trunks[0].password: environment variable TL_TEST_UNSET_PW is not set") {
		t.Errorf("error text: %v", err)
	}
	_, err = LoadFor(path, SecretTrunks)
	checkProblems(t, err, path, wants[1:])

	// Read later, on a config a command already holds: the same problems; a copy taken before is
	// not changed.
	cfg, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	before := cfg
	checkProblems(t, cfg.ResolveSecrets(AllSecrets), path, wants)
	if cfg.Database.DSN.Value() != dsn || before.Database.DSN.Value() != "" {
		t.Fatalf("the DSN read despite the other problems: %q, copy %q", cfg.Database.DSN.Value(), before.Database.DSN.Value())
	}

	// With the variables set and the file written, the gateway gets every value.
	t.Setenv("TL_TEST_UNSET_PW", testPassword)
	t.Setenv("TL_TEST_UNSET_TOKEN", "token-1")
	writeFile(t, dir, "inbound-pw", "in-"+testPassword+"\n")
	if err := cfg.ResolveSecrets(AllSecrets); err != nil {
		t.Fatal(err)
	}
	tr := cfg.Trunks[0]
	if tr.Password.Value() != testPassword || tr.InboundPassword.Value() != "in-"+testPassword || cfg.Verification.WebhookToken.Value() != "token-1" {
		t.Fatalf("after reading: %q, %q, %q", tr.Password.Value(), tr.InboundPassword.Value(), cfg.Verification.WebhookToken.Value())
	}
	if before.Trunks[0].Password.Value() != "" || !before.Trunks[0].Password.pending {
		t.Fatal("reading the secrets changed a copy of the config taken before")
	}
}

// A secret's value is checked when it is read, as an inline value is at Load: the DSN's form, the
// webhook token's characters. The problem names where the value came from, never the value.
func TestSecretValuesCheckedWhenRead(t *testing.T) {
	path := writeConfig(t, `database:
  dsn: {env: TL_TEST_DSN}
verification:
  sender: webhook
  webhook_url: https://sms.example.com/send
  webhook_token: {env: TL_TEST_TOKEN}
`)
	t.Setenv("TL_TEST_DSN", "postgres://u:"+testPassword+"@db/teamline")
	t.Setenv("TL_TEST_TOKEN", "t\r\nX-Evil: "+testPassword)
	if _, err := Load(path); err != nil {
		t.Fatalf("Load, nothing read: %v", err)
	}
	_, err := LoadFor(path, AllSecrets)
	checkProblems(t, err, path, []want{
		{2, "database.dsn", "not a recognised form; use an empty value (SQLite in data_dir), sqlite:PATH"},
		{6, "verification.webhook_token", "must not contain control characters"},
	})
	if !strings.Contains(err.Error(), "(value from environment variable TL_TEST_DSN)") {
		t.Errorf("the DSN problem does not say where the value came from: %v", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatalf("a problem reveals a secret: %v", err)
	}
}

// Problems of secrets come with every other problem of the file, in file order, so a user fixes them
// in one go.
func TestSecretProblemsReportedWithOthers(t *testing.T) {
	path := writeConfig(t, `http:
  listen: 127.0.0.1:99999
trunks:
  - name: a
    proxy: h:5060
    username: u
    password: {env: TL_TEST_NOT_SET_ANYWHERE}
    caller_id_format: E164
`)
	_, err := LoadFor(path, AllSecrets)
	checkProblems(t, err, path, []want{
		{2, "http.listen", "port out of range"},
		{7, "trunks[0].password", "environment variable TL_TEST_NOT_SET_ANYWHERE is not set"},
		{8, "trunks[0].caller_id_format", `"E164": want one of`},
	})
	// Without trunk secrets needed, the rest is still refused.
	_, err = LoadFor(path, SecretDatabase)
	checkProblems(t, err, path, []want{{2, "http.listen", "port out of range"}, {8, "trunks[0].caller_id_format", "want one of"}})
}

// A reference counts as a given secret for the checks that do not need its value, for every command:
// a password without a username, an inbound password without an inbound username, a webhook token
// without the webhook sender are refused at Load, before anything is read.
func TestSecretReferencesCheckedWithoutReading(t *testing.T) {
	path := writeConfig(t, `verification:
  webhook_token: {env: TL_TEST_NOT_SET_ANYWHERE}
trunks:
  - name: a
    proxy: h:5060
    password: {env: TL_TEST_NOT_SET_ANYWHERE}
  - name: b
    proxy: h:5060
    inbound_password: {file: /nonexistent/pw}
`)
	wants := []want{
		{2, "verification.webhook_token", "only used with sender webhook"},
		{4, "trunks[0].username", "required when a password is set"},
		{7, "trunks[1].inbound_username", "required when inbound_password is set"},
	}
	_, err := Load(path)
	checkProblems(t, err, path, wants)
	// Read as well, the secrets add their own problems, but a key is named once.
	_, err = LoadFor(path, AllSecrets)
	checkProblems(t, err, path, []want{wants[0], wants[1], {6, "trunks[0].password", "TL_TEST_NOT_SET_ANYWHERE is not set"},
		wants[2], {9, "trunks[1].inbound_password", "no such file"}})
}

// TEAMLINE_DATABASE_DSN replaces database.dsn before anything is read: the file's reference is never
// read, so its variable need not be set.
func TestEnvOverrideReplacesUnreadDSN(t *testing.T) {
	path := writeConfig(t, "database:\n  dsn: {env: TL_TEST_NOT_SET_ANYWHERE}\n")
	t.Setenv(EnvDatabaseDSN, "override.db")
	cfg, err := LoadFor(path, AllSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if driver, dsn, err := cfg.Database.Driver(cfg.DataDir); err != nil || driver != DriverSQLite || dsn != "override.db" {
		t.Fatalf("Driver() = %q, %q, %v; want the override", driver, dsn, err)
	}
}

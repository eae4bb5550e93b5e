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
			cfg, err := Load(path)
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
		reason   string
	}{
		{"missing env", "{env: TL_TEST_NOT_SET_ANYWHERE}", "environment variable TL_TEST_NOT_SET_ANYWHERE is not set"},
		{"empty env", "{env: TL_TEST_EMPTY}", "environment variable TL_TEST_EMPTY is empty"},
		{"missing file", "{file: " + filepath.Join(dir, "nope") + "}", "no such file"},
		{"directory", "{file: " + dir + "}", "not a regular file"},
		{"empty file", "{file: " + empty + "}", "is empty"},
		{"big file", "{file: " + big + "}", "larger than"},
		{"unknown source", "{vault: x}", `unknown key "vault" (expected env or file)`},
		{"two sources", "{env: A, file: B}", "exactly one"},
		{"list", "[a, b]", "expected a string, {env: NAME} or {file: PATH}, got a list"},
		{"empty env name", "{env: ''}", "expected {env: NAME} or {file: PATH}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "trunks:\n  - name: a\n    proxy: h:5060\n    username: u\n    password: "+tt.password+"\n")
			_, err := Load(path)
			checkProblems(t, err, path, []want{{5, "trunks[0].password", tt.reason}})
		})
	}
}

func TestDatabaseDSNFromEnvAndFile(t *testing.T) {
	dsn := "teamline:" + testPassword + "@tcp(db.example.com:3306)/teamline"
	t.Run("env", func(t *testing.T) {
		path := writeConfig(t, "database:\n  dsn: {env: TL_TEST_DSN}\n")
		t.Setenv("TL_TEST_DSN", dsn)
		cfg, err := Load(path)
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
		cfg, err := Load(path)
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

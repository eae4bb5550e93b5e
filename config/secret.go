package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// redacted is what a set Secret prints as, everywhere.
const redacted = "<redacted>"

// maxSecretFileSize bounds what a {file: ...} secret reads, so a mistaken path (a log file, /dev/zero)
// fails clearly instead of eating memory.
const maxSecretFileSize = 64 << 10

// Secret is a password, DSN or token. In YAML it is either a plain string, or a mapping read at load time:
//
//	password: s3cret                      # inline
//	password: {env: TEAMLINE_TRUNK_PASS}  # from an environment variable; unset or empty is an error
//	password: {file: /run/secrets/trunk}  # from a regular file, trailing newlines trimmed; empty is an error
//
// Secret never reveals its value when printed, logged or marshalled: String, GoString, LogValue,
// MarshalYAML and MarshalJSON give "<redacted>" (or "" when unset). Use Value to read it.
type Secret struct {
	value string
	// from says where the value came from ("environment variable X", "file Y"); empty for inline values.
	from string
}

// NewSecret returns a Secret holding v, for programmatic configs and tests.
func NewSecret(v string) Secret { return Secret{value: v} }

// Value returns the secret in clear text. Do not log it.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s.value != "" }

func (s Secret) shown() string {
	if s.IsSet() {
		return redacted
	}
	return ""
}

// String returns "<redacted>" when set, "" otherwise.
func (s Secret) String() string { return s.shown() }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// LogValue makes slog print "<redacted>" when set.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalYAML writes "<redacted>" when set, so a dumped config never holds the secret.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalJSON writes "<redacted>" when set.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

func (s *Secret) unmarshalNode(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			*s = Secret{}
			return nil
		}
		*s = Secret{value: n.Value}
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("expected a string, {env: NAME} or {file: PATH}, got %s", kindName(n))
	}
	if len(n.Content) != 2 {
		return fmt.Errorf("expected exactly one of {env: NAME} or {file: PATH}")
	}
	k, v := resolveAlias(n.Content[0]), resolveAlias(n.Content[1])
	if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.Value == "" {
		return fmt.Errorf("expected {env: NAME} or {file: PATH}")
	}
	switch k.Value {
	case "env":
		return s.fromEnv(v.Value)
	case "file":
		return s.fromFile(v.Value)
	default:
		return fmt.Errorf("unknown key %q (expected env or file)", k.Value)
	}
}

func (s *Secret) fromEnv(name string) error {
	v, ok := os.LookupEnv(name)
	if !ok {
		return fmt.Errorf("environment variable %s is not set", name)
	}
	if v == "" {
		return fmt.Errorf("environment variable %s is empty", name)
	}
	*s = Secret{value: v, from: "environment variable " + name}
	return nil
}

func (s *Secret) fromFile(path string) error {
	// Only regular files: opening a FIFO or device could block or never end.
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("secret file %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	if len(b) > maxSecretFileSize {
		return fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretFileSize)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return fmt.Errorf("secret file %s is empty", path)
	}
	*s = Secret{value: v, from: "file " + path}
	return nil
}

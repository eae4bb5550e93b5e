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

// Secret is a password, DSN or token. In YAML it is either a plain string, or a reference to where the
// value is kept:
//
//	password: s3cret                      # inline
//	password: {env: TEAMLINE_TRUNK_PASS}  # from an environment variable; unset or empty is an error
//	password: {file: /run/secrets/trunk}  # from a regular file, trailing newlines trimmed; empty is an error
//
// Load checks a reference's form but does not read it: a command reads only the secrets it uses, with
// Config.ResolveSecrets or LoadFor, so a trunk password kept in a variable that is not set does not stop
// "teamline user list". Until then Value is "" and IsSet is true.
//
// Secret never reveals its value when printed, logged or marshalled: String, GoString, LogValue,
// MarshalYAML and MarshalJSON give "<redacted>" (or "" when unset). Use Value to read it.
type Secret struct {
	value string
	// kind is where the value comes from, secretEnv or secretFile, with name the variable or file
	// name; kind is "" for inline values.
	kind, name string
	// pending is true while a reference has not been read (see resolve).
	pending bool
}

// Kinds of Secret reference, as written in YAML.
const (
	secretEnv  = "env"
	secretFile = "file"
)

// NewSecret returns a Secret holding v, for programmatic configs and tests.
func NewSecret(v string) Secret { return Secret{value: v} }

// Value returns the secret in clear text, or "" for a reference that has not been read yet
// (Config.ResolveSecrets reads it). Do not log it.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret is given: a non-empty value, or a reference not read yet.
func (s Secret) IsSet() bool { return s.value != "" || s.pending }

// from says where the value comes from ("environment variable X", "file Y"); "" for inline values.
func (s Secret) from() string {
	switch s.kind {
	case secretEnv:
		return "environment variable " + s.name
	case secretFile:
		return "file " + s.name
	}
	return ""
}

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
	case secretEnv, secretFile:
		*s = Secret{kind: k.Value, name: v.Value, pending: true}
		return nil
	default:
		return fmt.Errorf("unknown key %q (expected env or file)", k.Value)
	}
}

// resolve reads a pending reference. The error is a reason without the value; on error the secret
// stays pending.
func (s *Secret) resolve() error {
	if !s.pending {
		return nil
	}
	var v string
	var err error
	switch s.kind {
	case secretEnv:
		v, err = readEnv(s.name)
	case secretFile:
		v, err = readSecretFile(s.name)
	default:
		err = fmt.Errorf("internal error: unknown secret kind %q", s.kind)
	}
	if err != nil {
		return err
	}
	s.value, s.pending = v, false
	return nil
}

func readEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	if v == "" {
		return "", fmt.Errorf("environment variable %s is empty", name)
	}
	return v, nil
}

func readSecretFile(path string) (string, error) {
	// Only regular files: opening a FIFO or device could block or never end.
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if len(b) > maxSecretFileSize {
		return "", fmt.Errorf("secret file %s is larger than %d bytes", path, maxSecretFileSize)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return v, nil
}

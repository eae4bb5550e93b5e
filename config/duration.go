package config

import (
	"errors"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in the config as a Go duration string: "300ms", "30s", "5m", "1h30m".
// Convert with time.Duration(d).
type Duration time.Duration

// String returns the duration in Go notation, e.g. "5m0s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as a string, e.g. "5m0s" (used by YAML and JSON encoders).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d *Duration) unmarshalNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as \"30s\" or \"5m\", got %s", kindName(n))
	}
	return d.UnmarshalText([]byte(n.Value))
}

func parseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, errors.New("expected a duration such as \"30s\" or \"5m\", got an empty value")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: not a duration (use a unit, e.g. \"30s\", \"5m\", \"1h\")", s)
	}
	return Duration(v), nil
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvDatabaseDSN names the environment variable that, when set and non-empty, replaces database.dsn
// after the file is read. It keeps the database password out of the config file.
const EnvDatabaseDSN = "TEAMLINE_DATABASE_DSN"

// Load reads the YAML file at path over Default, applies environment overrides (EnvDatabaseDSN) and
// validates the result.
//
// Decoding is strict: unknown and duplicate keys, values of the wrong type and unresolvable secrets are
// errors. A list in the file replaces the default list. An empty file gives the defaults.
//
// A file that cannot be read gives the os error wrapped (errors.Is(err, fs.ErrNotExist) works). Every
// other failure is an *Error listing all problems, each as "file:line: key.path: reason".
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, problems := parse(path, data)
	if len(problems) > 0 {
		return Config{}, problemsError(problems)
	}
	return cfg, nil
}

// parse decodes data (read from file) over the defaults and validates it, returning every problem.
func parse(file string, data []byte) (Config, []Problem) {
	src := &source{file: file, lines: map[string]int{}}
	cfg := Default()
	cfg.src = src

	root, problems := parseYAML(file, data)
	if len(problems) > 0 {
		return cfg, problems
	}
	d := newDecoder(src)
	if root != nil {
		d.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	}
	if d.budget == 0 {
		return cfg, d.problems // the rest would be noise about a half-decoded document
	}
	applyEnv(&cfg)

	// A value that failed to decode kept its default; do not report it a second time.
	failed := map[string]bool{}
	for _, p := range d.problems {
		failed[p.Path] = true
	}
	problems = d.problems
	if err := cfg.Validate(); err != nil {
		for _, p := range err.(*Error).Problems {
			if !failed[p.Path] {
				problems = append(problems, p)
			}
		}
	}
	return cfg, problems
}

// parseYAML returns the root node of the single YAML document in data (nil for an empty document).
func parseYAML(file string, data []byte) (root *yaml.Node, problems []Problem) {
	defer func() {
		// The parser is third-party code fed with user input; a panic in it must not take the
		// process down with an unhelpful trace.
		if r := recover(); r != nil {
			root, problems = nil, []Problem{{File: file, Reason: fmt.Sprintf("YAML parser failed: %v", r)}}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []Problem{syntaxProblem(file, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, []Problem{{File: file, Line: extra.Line, Reason: "only one YAML document is allowed (remove the \"---\")"}}
	case !errors.Is(err, io.EOF):
		return nil, []Problem{syntaxProblem(file, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns "yaml: line 3: mapping values are not allowed in this context" into a Problem.
func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Reason: "invalid YAML: " + m[2]}
	}
	return Problem{File: file, Reason: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// applyEnv applies the environment overrides. Problems with an overridden value have no file line.
func applyEnv(cfg *Config) {
	if v := os.Getenv(EnvDatabaseDSN); v != "" {
		cfg.Database.DSN = Secret{value: v, from: "environment variable " + EnvDatabaseDSN}
		if cfg.src != nil {
			cfg.src.lines["database.dsn"] = 0
		}
	}
}

// LoadDefaults returns the embedded defaults with the environment overrides
// applied and validated: the configuration of a gateway started without a
// config file.
func LoadDefaults() (Config, error) {
	cfg := Default()
	applyEnv(&cfg)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

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
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// EnvDatabaseDSN names the environment variable that, when set and non-empty, replaces database.dsn
// after the file is read. It keeps the database password out of the config file.
const EnvDatabaseDSN = "TEAMLINE_DATABASE_DSN"

// Load reads the YAML file at path over Default, applies environment overrides (EnvDatabaseDSN) and
// validates the result.
//
// Decoding is strict: unknown and duplicate keys, values of the wrong type and malformed secret
// references are errors. A list in the file replaces the default list. An empty file gives the
// defaults.
//
// Secrets given as {env: NAME} or {file: PATH} are not read: a command reads those it uses with
// ResolveSecrets, or loads with LoadFor. Everything else is checked here, for every command.
//
// A file that cannot be read gives the os error wrapped (errors.Is(err, fs.ErrNotExist) works). Every
// other failure is an *Error listing all problems, each as "file:line: key.path: reason".
func Load(path string) (Config, error) {
	return LoadFor(path, 0)
}

// LoadFor is Load followed by ResolveSecrets(need), with the problems of both reported together, in
// file order: what a command calls with the secrets it uses.
func LoadFor(path string, need Secrets) (Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if len(data) > maxFileSize {
		return Config{}, problemsError([]Problem{{File: path, Reason: fmt.Sprintf("file is larger than %d bytes; is it the config file?", maxFileSize)}})
	}
	cfg, problems := parse(path, data, need)
	if len(problems) > 0 {
		return Config{}, problemsError(problems)
	}
	return cfg, nil
}

// maxFileSize bounds the config file. The YAML parser builds the whole node tree before the decoder's
// budget applies: a 20 MB file of short lists took 8 s and 2 GB. Real configs are a few kilobytes.
const maxFileSize = 1 << 20

// readLimited reads path, at most maxFileSize+1 bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFileSize+1))
}

// parse decodes data (read from file) over the defaults, validates it and reads the secrets in need,
// returning every problem.
func parse(file string, data []byte, need Secrets) (Config, []Problem) {
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
				failed[p.Path] = true
			}
		}
	}
	// The secrets are read even when other keys are wrong, so a user sees every problem at once; a
	// key already reported (a webhook_token without the webhook sender) is not reported again.
	if err := cfg.ResolveSecrets(need); err != nil {
		for _, p := range err.(*Error).Problems {
			if !failed[p.Path] {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > maxProblems {
		problems = append(problems[:maxProblems:maxProblems], tooManyProblems(file))
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
		p := syntaxProblem(file, err)
		if p.Line == 0 {
			if rp, ok := readerProblem(file, data); ok {
				p = rp
			}
		}
		return nil, []Problem{p}
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

// readerProblem reports the first byte the YAML reader refuses, with its line: the reader's own errors
// ("invalid leading UTF-8 octet", "control characters are not allowed") carry none. YAML 1.2 5.1 allows
// tab, LF, CR and printable characters; ok is false when there is no such byte (or the file is
// UTF-16, which the reader decodes itself).
func readerProblem(file string, data []byte) (p Problem, ok bool) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return Problem{}, false
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return Problem{File: file, Line: line, Reason: "invalid YAML: not valid UTF-8 (save the file as UTF-8)"}, true
		case r == '\n':
			line++
		case r == '\t' || r == '\r' || r == 0x85 || r == 0xfeff:
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r < 0xe000):
			return Problem{File: file, Line: line, Reason: fmt.Sprintf("invalid YAML: control character %U is not allowed", r)}, true
		}
		i += size
	}
	return Problem{}, false
}

// applyEnv applies the environment overrides. Problems with an overridden value have no file line.
func applyEnv(cfg *Config) {
	if v := os.Getenv(EnvDatabaseDSN); v != "" {
		cfg.Database.DSN = Secret{value: v, kind: secretEnv, name: EnvDatabaseDSN}
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

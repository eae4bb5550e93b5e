package directory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a directory file; 64 MiB holds well over 100,000 leads.
const MaxFileBytes = 64 << 20

// File is the declarative directory file of `teamline apply` and
// `teamline export`. A section that is absent is left alone by apply; a
// section that is present is the whole truth: objects missing from it are
// deleted. Settings are merged: keys absent keep their current value.
type File struct {
	Settings *yaml.Node `yaml:"settings,omitempty"`
	Users    []User     `yaml:"users"`
	Numbers  []Number   `yaml:"numbers"`
	Leads    []Lead     `yaml:"leads"`
	Rules    []Rule     `yaml:"rules"`

	// present records which sections the file has; lines the line of each
	// item of a list section, to point errors at it.
	present map[string]bool
	lines   map[string][]int
}

// exportFile is what export writes: every section, settings in full.
type exportFile struct {
	Settings Settings `yaml:"settings"`
	Users    []User   `yaml:"users"`
	Numbers  []Number `yaml:"numbers"`
	Leads    []Lead   `yaml:"leads"`
	Rules    []Rule   `yaml:"rules"`
}

// FileError is a problem at a place in a directory file.
type FileError struct {
	Line   int // 0 when unknown
	Reason string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return e.Reason
}

// ParseFile reads a directory file strictly: unknown keys, wrong types and
// several documents are errors that name the line.
func ParseFile(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, &FileError{Reason: fmt.Sprintf("file is larger than %d MiB", MaxFileBytes>>20)}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{present: map[string]bool{}, lines: map[string][]int{}}, nil
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &FileError{Line: extra.Line, Reason: "a directory file holds one YAML document"}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &FileError{Line: doc.Line, Reason: "the file must be a mapping with sections settings, users, numbers, leads, rules"}
	}
	f := &File{present: map[string]bool{}, lines: map[string][]int{}}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key, val := doc.Content[i], doc.Content[i+1]
		if f.present[key.Value] {
			return nil, &FileError{Line: key.Line, Reason: fmt.Sprintf("section %q appears twice", key.Value)}
		}
		if val.Kind == yaml.ScalarNode && val.Tag == "!!null" && key.Value != "settings" {
			// "leads:" with nothing under it would delete every lead; make
			// the user say so.
			return nil, &FileError{Line: key.Line, Reason: fmt.Sprintf(
				"section %q is empty: write \"%s: []\" to delete every one, or leave the key out to keep them", key.Value, key.Value)}
		}
		f.present[key.Value] = true
		if val.Kind == yaml.SequenceNode {
			for i, item := range val.Content {
				if item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
					// Decoding drops it: "- # a commented-out lead" would
					// otherwise delete every lead, and shift the lines below.
					return nil, &FileError{Line: item.Line, Reason: fmt.Sprintf("%s[%d] is empty", key.Value, i)}
				}
				f.lines[key.Value] = append(f.lines[key.Value], item.Line)
			}
		}
		var err error
		switch key.Value {
		case "settings":
			if val.Kind != yaml.MappingNode {
				return nil, &FileError{Line: val.Line, Reason: "settings must be a mapping"}
			}
			// Check the keys now so a typo fails before anything is applied.
			var st Settings
			err = strictDecode(val, &st)
			f.Settings = val
		case "users":
			err = strictDecode(val, &f.Users)
		case "numbers":
			err = strictDecode(val, &f.Numbers)
		case "leads":
			err = strictDecode(val, &f.Leads)
		case "rules":
			err = strictDecode(val, &f.Rules)
		default:
			return nil, &FileError{Line: key.Line, Reason: fmt.Sprintf("unknown section %q (settings, users, numbers, leads, rules)", key.Value)}
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// where names item i of a section and its line, for error messages.
func (f *File) where(section string, i int) string {
	if i < len(f.lines[section]) {
		return fmt.Sprintf("line %d: %s[%d]", f.lines[section][i], section, i)
	}
	return fmt.Sprintf("%s[%d]", section, i)
}

// Has reports whether the file has the section.
func (f *File) Has(section string) bool { return f.present[section] }

// strictDecode decodes a node into v, refusing unknown keys.
func strictDecode(n *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	// Re-encoding loses line numbers, so decode the node directly and check
	// keys against the target with a second, strict pass on the bytes.
	if err := n.Decode(v); err != nil {
		return yamlError(err)
	}
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return unknownKeyError(n, err)
	}
	return nil
}

// unknownKeyError turns the strict decoder's complaint into one that names
// the key's line in the original file.
func unknownKeyError(n *yaml.Node, err error) error {
	msg := yamlReason(err)
	if i := strings.Index(msg, "field "); i >= 0 {
		name := strings.Fields(msg[i+len("field "):])[0]
		if line := findKey(n, name); line > 0 {
			return &FileError{Line: line, Reason: fmt.Sprintf("unknown key %q", name)}
		}
	}
	return &FileError{Line: n.Line, Reason: msg}
}

// findKey returns the line of the first mapping key called name under n.
func findKey(n *yaml.Node, name string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := findKey(c, name); l > 0 {
			return l
		}
	}
	return 0
}

// yamlError converts a yaml error ("yaml: line 3: ...") to a FileError.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return parseLine(te.Errors[0])
	}
	return parseLine(yamlReason(err))
}

func yamlReason(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func parseLine(msg string) *FileError {
	msg = strings.TrimPrefix(msg, "yaml: ")
	var line int
	if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
		if i := strings.Index(msg, ":"); i >= 0 {
			return &FileError{Line: line, Reason: strings.TrimSpace(msg[i+1:])}
		}
	}
	return &FileError{Reason: msg}
}

// sortForExport orders every list by its key so that the same directory
// exports the same bytes whatever database or insertion order it came from.
func sortForExport(f *exportFile) {
	slices.SortFunc(f.Users, func(a, b User) int { return strings.Compare(a.Username, b.Username) })
	slices.SortFunc(f.Numbers, func(a, b Number) int { return strings.Compare(a.E164, b.E164) })
	slices.SortFunc(f.Leads, func(a, b Lead) int { return strings.Compare(a.Phones[0], b.Phones[0]) })
}

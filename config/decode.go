package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the YAML node tree against the Go types itself rather than using yaml.Node.Decode,
// so that every problem (unknown key, wrong type, bad secret) gets the exact key path and line, and so
// that all problems are collected instead of stopping at the first.

// nodeBudget bounds the nodes and mapping keys visited, including those reached through aliases, so a
// small file of nested aliases ("billion laughs") cannot make Load run for ever. Real configs have a few
// hundred.
const nodeBudget = 100_000

// maxProblems bounds the problems reported: past it, decoding stops. An alias of a mapping with many
// unknown keys, repeated, would otherwise make a 30 kB file produce millions of problems (and an error
// text of hundreds of megabytes).
const maxProblems = 100

// nodeUnmarshaler is implemented by types that read themselves from a node (Secret, Duration). The
// returned error is a reason; the decoder adds file, line and path.
type nodeUnmarshaler interface {
	unmarshalNode(n *yaml.Node) error
}

// source records where the keys of a loaded config were found.
type source struct {
	file  string
	lines map[string]int // key path -> line of its value
}

// lineOf returns the line of path, or of its nearest ancestor present in the file, or 0.
func (s *source) lineOf(path string) int {
	if s == nil {
		return 0
	}
	for {
		if l, ok := s.lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

func (s *source) fileName() string {
	if s == nil {
		return ""
	}
	return s.file
}

// parentPath returns "a.b" for "a.b.c" and "a.b" for "a.b[3]".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type decoder struct {
	src      *source
	problems []Problem
	budget   int
}

func newDecoder(src *source) *decoder {
	return &decoder{src: src, budget: nodeBudget}
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	if d.budget <= 0 {
		return
	}
	d.problems = append(d.problems, Problem{File: d.src.file, Line: line, Path: path, Reason: fmt.Sprintf(format, args...)})
	if len(d.problems) >= maxProblems {
		d.problems = append(d.problems, tooManyProblems(d.src.file))
		d.budget = 0
	}
}

// tooManyProblems ends a list cut at maxProblems. It has no line, so it sorts last.
func tooManyProblems(file string) Problem {
	return Problem{File: file, Reason: fmt.Sprintf("too many problems; the first %d are shown, fix these first", maxProblems)}
}

// spend takes one unit of the budget for visiting the node at line; false once it is used up (the first
// time, with a problem saying so).
func (d *decoder) spend(line int, path string) bool {
	if d.budget <= 0 {
		return false
	}
	if d.budget == 1 {
		d.fail(line, path, "document too large or too many alias expansions")
		d.budget = 0
		return false
	}
	d.budget--
	return true
}

// decode reads n into v (addressable) and records problems instead of returning them.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n.Line, path) {
		return
	}
	line := n.Line // the alias's own line, where the user looks
	d.src.lines[path] = line
	n = resolveAlias(n)

	if u, ok := v.Addr().Interface().(nodeUnmarshaler); ok {
		if err := u.unmarshalNode(n); err != nil {
			d.fail(line, path, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path, line)
	case reflect.Slice:
		d.decodeSlice(n, v, path, line)
	case reflect.String:
		switch {
		case n.Kind != yaml.ScalarNode:
			d.fail(line, path, "expected a string, got %s", kindName(n))
		case n.ShortTag() == "!!null":
			v.SetString("")
		default:
			v.SetString(n.Value)
		}
	case reflect.Int, reflect.Int64:
		i, ok := scalarInt(n)
		if !ok || v.OverflowInt(i) {
			d.fail(line, path, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(line, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		// A field type this decoder does not know: a bug in this package, caught by the tests.
		d.fail(line, path, "internal error: cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "database:" with nothing under it keeps the defaults
	}
	if n.Kind != yaml.MappingNode {
		d.fail(line, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		// Keys count too: unknown and duplicate keys are not decoded, but each makes a problem.
		if !d.spend(k.Line, path) {
			return
		}
		rk := resolveAlias(k)
		if rk.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "keys must be strings, got %s", kindName(rk))
			continue
		}
		name := rk.Value
		idx, ok := fields[name]
		if !ok {
			d.fail(k.Line, path, "unknown key %q%s", name, suggest(name, fields))
			continue
		}
		if first, dup := seen[name]; dup {
			d.fail(k.Line, path, "duplicate key %q (first at line %d)", name, first)
			continue
		}
		seen[name] = k.Line
		d.decode(val, v.Field(idx), childPath(path, name))
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, line int) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero() // "trunks:" with nothing under it is an empty list
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(line, path, "expected a list, got %s", describe(n))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero() // "trunks: []" is the same as the default: nil
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		e := s.Index(i)
		if def, ok := e.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.decode(item, e, path+"["+strconv.Itoa(i)+"]")
	}
	v.Set(s)
}

// yamlFields maps yaml key names to field indexes of struct type t. Fields without a yaml tag are not
// configurable.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// scalarInt reads a plain YAML integer, or a quoted decimal one ("5060"). Floats are refused rather than
// truncated.
func scalarInt(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return 0, false
		}
		return i, true
	case "!!str":
		i, err := strconv.ParseInt(n.Value, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// resolveAlias follows *alias references to the anchored node. An alias never points to another alias,
// the loop bound is only a guard.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "an empty value"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an unresolved alias"
	}
	return "a YAML document"
}

// describe names a node for an error message: the quoted value for scalars, the kind otherwise.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		v := n.Value
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		return strconv.Quote(v)
	}
	return kindName(n)
}

// suggest returns ` (did you mean "x"?)` for the closest known key within two edits, or "".
func suggest(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(name, k); dist < bestDist || (dist == bestDist && k < best) {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal string alignment distance of a and b: insertions, deletions, substitutions
// and transpositions of adjacent characters ("databse") count one each. Long strings are not compared.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes content to teamline.yaml in a fresh temporary directory and returns its path. It
// also clears TEAMLINE_DATABASE_DSN so the caller's environment cannot change the outcome.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	t.Setenv(EnvDatabaseDSN, "")
	path := filepath.Join(t.TempDir(), "teamline.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFile writes content to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// want is an expected problem: line, key path and a piece of the reason.
type want struct {
	line   int
	path   string
	reason string
}

// problemsOf returns the problems of an *Error, failing the test for any other error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, not *config.Error: %v", err, err)
	}
	return ce.Problems
}

// checkProblems asserts that err holds exactly the wanted problems, in order, each naming file.
func checkProblems(t *testing.T, err error, file string, wants []want) {
	t.Helper()
	ps := problemsOf(t, err)
	if len(ps) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(wants), err)
	}
	for i, w := range wants {
		p := ps[i]
		if p.File != file || p.Line != w.line || p.Path != w.path || !strings.Contains(p.Reason, w.reason) {
			t.Errorf("problem %d = %+v\nwant line %d, path %q, reason containing %q", i, p, w.line, w.path, w.reason)
		}
	}
	// The rendered message carries file and line, the way a user sees it.
	for _, p := range ps {
		if p.Line > 0 && !strings.Contains(err.Error(), p.Error()) {
			t.Errorf("error text lacks %q", p.Error())
		}
	}
}

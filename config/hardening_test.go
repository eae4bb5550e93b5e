package config

import (
	"fmt"
	"strings"
	"testing"
)

// An alias of a mapping with many unknown keys, repeated, multiplies problems: a 33 kB file gave 4
// million problems, 20 s of work and an error text of 324 MB.
func TestAliasOfUnknownKeysIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("trunks:\n  - &t {")
	for i := range 2000 {
		fmt.Fprintf(&b, "k%d: 1, ", i)
	}
	b.WriteString("name: a}\n")
	b.WriteString(strings.Repeat("  - *t\n", 2000))
	_, err := Load(writeConfig(t, b.String()))
	ps := problemsOf(t, err)
	if len(ps) > maxProblems+1 {
		t.Fatalf("%d problems, want at most %d", len(ps), maxProblems+1)
	}
	if last := ps[len(ps)-1]; !strings.Contains(last.Reason, "too many problems") {
		t.Errorf("last problem = %v, want the too-many note", last)
	}
	if ps[0].Line != 2 || ps[0].Path != "trunks[0]" {
		t.Errorf("first problem = %+v, want line 2 at trunks[0]", ps[0])
	}
}

// Many trunks that each fail validation are also cut at maxProblems.
func TestManyValidationProblemsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("trunks:\n")
	for range 500 {
		b.WriteString("  - {name: a, proxy: x}\n")
	}
	_, err := Load(writeConfig(t, b.String()))
	if ps := problemsOf(t, err); len(ps) != maxProblems+1 || !strings.Contains(ps[maxProblems].Reason, "too many problems") {
		t.Fatalf("%d problems, last %v; want %d and the too-many note", len(ps), ps[len(ps)-1], maxProblems+1)
	}
}

// Port 0 asks the kernel for a free port, so two stream listeners on port 0 (tcp and tls in a test) do
// not collide.
func TestTwoStreamListenersOnPortZero(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "c.pem", "x")
	key := writeFile(t, dir, "k.pem", "x")
	path := writeConfig(t, fmt.Sprintf(`
sip:
  listen:
    - {transport: udp, address: "127.0.0.1:0"}
    - {transport: tcp, address: "127.0.0.1:0"}
    - {transport: tls, address: "[::1]:0", tls_cert: %[1]q, tls_key: %[2]q}
    - {transport: tls, address: "[::1]:0", tls_cert: %[1]q, tls_key: %[2]q}
`, cert, key))
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	// A real port still may not be used twice.
	path = writeConfig(t, `
sip:
  listen:
    - {transport: tcp, address: "127.0.0.1:5070"}
    - {transport: tcp, address: "127.0.0.1:5070"}
`)
	checkProblems(t, mustFail(t, path), path, []want{{5, "sip.listen[1].address", "already used by sip.listen[0]"}})
}

// The YAML reader's own errors (bad UTF-8, control characters) carry no line; the problem must still say
// where.
func TestReaderErrorsHaveLine(t *testing.T) {
	for name, tc := range map[string]struct {
		text   string
		line   int
		reason string
	}{
		"invalid UTF-8":     {"log:\n  level: info\n  format: te\xffxt\n", 3, "UTF-8"},
		"control character": {"log:\n  level: info\n\n  format: te\x01xt\n", 4, "control character"},
		"after CRLF lines":  {"log:\r\n  level: info\r\n  format: \x7f\r\n", 3, "control character"},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			checkProblems(t, mustFail(t, path), path, []want{{tc.line, "", tc.reason}})
		})
	}
}

func mustFail(t *testing.T, path string) error {
	t.Helper()
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load accepted the file")
	}
	return err
}

// The YAML parser builds the whole tree before any budget applies: a 20 MB file took seconds and
// gigabytes. Load refuses files far larger than any config.
func TestHugeFileIsRefused(t *testing.T) {
	path := writeConfig(t, "trunks:\n"+strings.Repeat("- [1,2,3,4,5,6,7,8]\n", 1<<17))
	checkProblems(t, mustFail(t, path), path, []want{{0, "", "larger than"}})
	// A large but sane file (comments, many trunks) still loads.
	var b strings.Builder
	b.WriteString(strings.Repeat("# a comment line to pad the file out a bit\n", 4000))
	b.WriteString("trunks:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {name: t%d, proxy: 'sip.example.com:5060', inbound_addresses: [192.0.2.1]}\n", i)
	}
	if _, err := Load(writeConfig(t, b.String())); err != nil {
		t.Fatal(err)
	}
}

// The SIP server binds IP addresses only (sip.Listener refuses names: Via and Contact need the IP), so a
// host name in sip.listen must fail here, with its line, not later at start without one. Names stay
// fine where they are meant (http.listen, trunk proxies).
func TestSIPListenHostNameHasLine(t *testing.T) {
	path := writeConfig(t, "http:\n  listen: localhost:0\nsip:\n  listen:\n    - {transport: udp, address: '[::1]:5060'}\n    - {transport: tcp, address: 'localhost:5060'}\n")
	checkProblems(t, mustFail(t, path), path, []want{{6, "sip.listen[1].address", "must be an IP address"}})
}

package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to LoadFor with every secret read: it may fail, never panic, and a
// failure is always a list of problems naming the file.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "teamline.example.yaml")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"data_dir: x\n",
		"log:\n  level: info\n format: text\n",
		"sip:\n  listen:\n    - {transport: tls, address: ':5061'}\n",
		"trunks:\n  - &t {name: a, proxy: 'h:5060', inbound_addresses: &a [1.1.1.1, 10.0.0.0/8]}\n  - *t\n",
		"database:\n  dsn: {env: TEAMLINE_FUZZ_UNSET}\n",
		"trunks:\n  - {name: a, proxy: 'h:5060', username: u, password: {file: /nonexistent}, inbound_username: i, inbound_password: {env: HOME}}\n",
		"database:\n  dsn: 'mysql://u:p@h:3306/db?parseTime=true'\n",
		"database:\n  dsn: 'u:p@tcp(h:3306)/db'\n",
		"a: &a [*a]\n",
		"? [a]\n: b\n",
		"--- !!map\n? a\n",
		"http: {listen: '[::1]:80', read_timeout: 1h}\n",
		"registrar: {min_expires: 1s, default_expires: 2s, max_expires: 3s}\ncalls: {caller_id_header: X-CID}\n",
		"trunks:\n  - {name: a, proxy: 'h:5060', outbound: false, from_domain: '[::1]', inbound_username: u, inbound_password: p}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "teamline.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFor(path, AllSecrets)
		if err == nil {
			return
		}
		ps := problemsOf(t, err)
		if len(ps) == 0 {
			t.Fatal("*Error without problems")
		}
		for _, p := range ps {
			if p.File != path || p.Reason == "" {
				t.Fatalf("problem without file or reason: %+v", p)
			}
		}
	})
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/internal/testlog"
	"github.com/teamline/teamline/store/storetest"
)

// teamline runs one command line in-process, as the binary would.
func teamline(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb testlog.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errs, code := teamline(t, stdin, args...)
	if code != 0 {
		t.Fatalf("teamline %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// writeConfig writes a config for a gateway on free loopback ports with its
// data in a temporary directory, on the given database driver.
func writeConfig(t *testing.T, driver string) string {
	t.Helper()
	dir := t.TempDir()
	dsn := ""
	if driver == "mysql" {
		dsn = storetest.MySQLDSN(t)
	}
	cfg := fmt.Sprintf(`data_dir: %q
database:
  dsn: %q
http:
  listen: 127.0.0.1:0
sip:
  listen:
    - {transport: udp, address: "127.0.0.1:0"}
    - {transport: tcp, address: "127.0.0.1:0"}
`, filepath.Join(dir, "data"), dsn)
	path := filepath.Join(dir, "teamline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// gateway is a `teamline serve` running in the test.
type gateway struct {
	log    *testlog.Buffer
	http   string
	sipUDP string
	stop   func() int
}

var (
	reHTTP = regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	reUDP  = regexp.MustCompile(`msg="sip listening" transport=udp address=(\S+)`)
)

func serve(t *testing.T, cfgPath string) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{log: &testlog.Buffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-c", cfgPath}, strings.NewReader(""), &testlog.Buffer{}, g.log)
	}()
	var once sync.Once
	var code int
	g.stop = func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		logs := g.log.String()
		h, u := reHTTP.FindStringSubmatch(logs), reUDP.FindStringSubmatch(logs)
		if h != nil && u != nil {
			g.http, g.sipUDP = "http://"+h[1], u[1]
			t.Cleanup(func() { g.stop() })
			return g
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start:\n%s", g.log.String())
	return nil
}

func (g *gateway) get(t *testing.T, token, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", g.http+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// listAll follows the API's pagination and returns every item.
func (g *gateway) listAll(t *testing.T, token, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	next := ""
	for {
		var page struct {
			Items []map[string]any `json:"items"`
			Next  string           `json:"next"`
		}
		url := path + "?limit=7"
		if next != "" {
			url += "&after=" + next
		}
		if code := g.get(t, token, url, &page); code != 200 {
			t.Fatalf("GET %s: %d", url, code)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		next = page.Next
	}
}

// sipRequest sends one SIP request over UDP and returns the status line of
// the final response.
func sipRequest(t *testing.T, addr, method, to string) string {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := fmt.Sprintf("%[1]s sip:%[2]s@%[3]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[4]s;branch=z9hG4bK-%[5]d;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:+15125550000@%[4]s>;tag=t1\r\nTo: <sip:%[2]s@%[3]s>\r\n"+
		"Call-ID: cmdtest-%[5]d\r\nCSeq: 1 %[1]s\r\nContact: <sip:trunk@%[4]s>\r\nContent-Length: 0\r\n\r\n",
		method, to, addr, local, time.Now().UnixNano())
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s: no final response: %v", method, err)
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}

func TestVersion(t *testing.T) {
	out := mustRun(t, "", "version")
	if !strings.HasPrefix(out, "teamline ") || !strings.Contains(out, "commit ") {
		t.Fatalf("version printed %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"user"}, {"user", "fly"}, {"apply"}, {"serve", "--nope"}, {"version", "extra"}} {
		if _, _, code := teamline(t, "", args...); code != exitUsage {
			t.Errorf("teamline %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestBadConfigIsRefusedWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "teamline.yaml")
	os.WriteFile(path, []byte("http:\n  listen: 127.0.0.1:0\ndatabse:\n  dsn: x\n"), 0o600)
	_, errs, code := teamline(t, "", "serve", "-c", path)
	if code != 1 || !strings.Contains(errs, path+":3") || !strings.Contains(errs, "databse") {
		t.Fatalf("exit %d, stderr %q; want the file, line 3 and the unknown key", code, errs)
	}
	os.WriteFile(path, []byte("http:\n  listen: 127.0.0.1:99999\n"), 0o600)
	if _, errs, code := teamline(t, "", "migrate", "-c", path); code != 1 || !strings.Contains(errs, path+":2") {
		t.Fatalf("bad port: exit %d, stderr %q", code, errs)
	}
}

func TestFirstStartWritesAdminToken(t *testing.T) {
	cfg := writeConfig(t, "sqlite")
	g := serve(t, cfg)
	if code := g.get(t, "", "/healthz", nil); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	tokenFile := filepath.Join(filepath.Dir(cfg), "data", adminTokenFile)
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatalf("no admin token file: %v\n%s", err, g.log.String())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(raw))
	var me map[string]any
	if code := g.get(t, token, "/api/v1/users/me", &me); code != 200 || me["username"] != "admin" || me["role"] != "primary_manager" {
		t.Fatalf("/users/me = %d %v", code, me)
	}
	if strings.Contains(g.log.String(), token) {
		t.Fatal("the admin token is in the log")
	}
	if code := g.get(t, "tl_wrong", "/api/v1/users/me", nil); code != 401 {
		t.Fatalf("bad token: %d, want 401", code)
	}
	// No buyer role number yet: calls get a clean refusal, OPTIONS works.
	if got := sipRequest(t, g.sipUDP, "INVITE", "+15125550100"); !strings.HasPrefix(got, "SIP/2.0 480") {
		t.Errorf("INVITE before any number: %q, want 480", got)
	}
	if got := sipRequest(t, g.sipUDP, "OPTIONS", "ping"); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Errorf("OPTIONS: %q, want 200", got)
	}
	var metrics bytes.Buffer
	resp, err := http.Get(g.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"teamline_build_info{", "go_goroutines", "go_sql_open_connections{db_name=\"sqlite\"}", "teamline_http_requests_total", "teamline_sip_requests_total",
		"teamline_calls_active", "teamline_sip_registrations", "teamline_rtp_ports_in_use", "teamline_call_setup_seconds_bucket"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code := g.stop(); code != 0 {
		t.Fatalf("serve exit %d after stop:\n%s", code, g.log.String())
	}
	// A second start does not make another admin or token.
	g2 := serve(t, cfg)
	if strings.Contains(g2.log.String(), "created the primary manager") {
		t.Fatal("second start bootstrapped again")
	}
}

// TestDirectoryRoundTrip drives a whole directory through apply, the CLI
// verbs, the API and export, on each database.
func TestDirectoryRoundTrip(t *testing.T) {
	var exports []string
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			cfg := writeConfig(t, driver)
			out := mustRun(t, "", "apply", "-c", cfg, "-f", "testdata/team.yaml", "--dry-run")
			if !strings.Contains(out, "dry run: would be 66 created, 1 changed, 0 deleted") {
				t.Fatalf("dry run printed:\n%s", out)
			}
			if exp := mustRun(t, "", "export", "-c", cfg); strings.Contains(exp, "maria") {
				t.Fatal("dry run changed the directory")
			}
			out = mustRun(t, "", "apply", "-c", cfg, "-f", "testdata/team.yaml")
			if !strings.Contains(out, "+ user alice") || !strings.Contains(out, "+ rule Everyone else") || !strings.HasSuffix(out, "66 created, 1 changed, 0 deleted\n") {
				t.Fatalf("apply printed:\n%s", out)
			}
			if out := mustRun(t, "", "apply", "-c", cfg, "-f", "testdata/team.yaml"); out != "0 created, 0 changed, 0 deleted\n" {
				t.Fatalf("second apply printed:\n%s", out)
			}
			exports = append(exports, mustRun(t, "", "export", "-c", cfg))

			// The daily verbs.
			out = mustRun(t, "dave-secret-9\n", "user", "add", "-c", cfg, "--username", "Dave", "--name", "Dave Brown", "--sip-password-stdin", "--cell", "512 555 0177")
			if !strings.Contains(out, "created user dave") || !strings.Contains(out, "SIP login yes") {
				t.Fatalf("user add printed %q", out)
			}
			mustRun(t, "", "number", "add", "-c", cfg, "--number", "(512) 555-0120", "--kind", "personal", "--owner", "dave")
			mustRun(t, "", "lead", "add", "-c", cfg, "--phone", "737-555-9999", "--name", "Walk-in", "--agent", "buyer=dave", "--tag", "open-house")
			_, errs, code := teamline(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0120", "--kind", "role", "--role", "buyer")
			if code != 1 || !strings.Contains(errs, "+15125550120 already exists") {
				t.Fatalf("duplicate number: exit %d, %q", code, errs)
			}
			_, errs, code = teamline(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0121", "--kind", "personal")
			if code != 1 || !strings.Contains(errs, "owner: a personal number needs an owner") {
				t.Fatalf("personal without owner: exit %d, %q", code, errs)
			}
			token := strings.TrimSpace(mustRun(t, "", "token", "create", "-c", cfg, "--user", "maria", "--name", "round-trip"))

			// The API sees what apply and the CLI made.
			g := serve(t, cfg)
			users := g.listAll(t, token, "/api/v1/users")
			numbers := g.listAll(t, token, "/api/v1/numbers")
			leads := g.listAll(t, token, "/api/v1/leads")
			rules := g.listAll(t, token, "/api/v1/rules")
			if len(users) != 6 || len(numbers) != 7 || len(leads) != 51 || len(rules) != 5 {
				t.Fatalf("API lists %d users, %d numbers, %d leads, %d rules; want 6, 7, 51, 5", len(users), len(numbers), len(leads), len(rules))
			}
			if rules[4]["name"] != "Everyone else" || rules[4]["catch_all"] != true {
				t.Errorf("last rule = %v", rules[4])
			}
			// With a buyer number telephony is on: an INVITE from an
			// address that is no trunk's must authenticate (challenged,
			// whoever it claims to be) rather than hear "disabled".
			if got := sipRequest(t, g.sipUDP, "INVITE", "+15125550100"); !strings.HasPrefix(got, "SIP/2.0 407") {
				t.Errorf("INVITE with a buyer number: %q, want 407", got)
			}
			if code := g.stop(); code != 0 {
				t.Fatalf("serve exit %d:\n%s", code, g.log.String())
			}

			// Export carries the CLI's additions and applies back as no change.
			exp := filepath.Join(t.TempDir(), "export.yaml")
			mustRun(t, "", "export", "-c", cfg, "-o", exp)
			data, _ := os.ReadFile(exp)
			for _, want := range []string{"username: dave", "+15125550120", "+17375559999", "open-house"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("export lacks %q", want)
				}
			}
			if out := mustRun(t, "", "apply", "-c", cfg, "-f", exp); out != "0 created, 0 changed, 0 deleted\n" {
				t.Fatalf("applying the export printed:\n%s", out)
			}
		})
	}
	if len(exports) == 2 && exports[0] != exports[1] {
		t.Fatalf("SQLite and MySQL export the same directory differently:\n%s\n---\n%s", exports[0], exports[1])
	}
}

func TestServeFailsCleanlyWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := writeConfig(t, "sqlite")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "listen: 127.0.0.1:0", "listen: "+taken.Addr().String(), 1)), 0o600)
	_, errs, code := teamline(t, "", "serve", "-c", cfg)
	if code != 1 || !strings.Contains(errs, "address already in use") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the taken address", code, errs)
	}

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	cfg = writeConfig(t, "sqlite")
	data, _ = os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), `{transport: udp, address: "127.0.0.1:0"}`, `{transport: udp, address: "`+udp.LocalAddr().String()+`"}`, 1)), 0o600)
	_, errs, code = teamline(t, "", "serve", "-c", cfg)
	if code != 1 || !strings.Contains(errs, udp.LocalAddr().String()) {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the taken SIP address", code, errs)
	}
}

// TestPprofOnlyWhenEnabled: the profiler is off by default and served
// when http.pprof is set.
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := writeConfig(t, "sqlite")
		if on {
			b, _ := os.ReadFile(cfg)
			b = []byte(strings.Replace(string(b), "  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:0\n  pprof: true\n", 1))
			if err := os.WriteFile(cfg, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		g := serve(t, cfg)
		resp, err := http.Get(g.http + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == 200; got != on {
			t.Errorf("pprof %v: /debug/pprof/ answered %d", on, resp.StatusCode)
		}
		if code := g.stop(); code != 0 {
			t.Fatalf("serve exit %d", code)
		}
	}
}

// TestNodeNameTellsGatewaysOnOneHostApart: records a restarting gateway
// closes are those of its own node, so two gateways on one host differ.
func TestNodeNameTellsGatewaysOnOneHostApart(t *testing.T) {
	a, b := config.Default(), config.Default()
	b.SIP.Listen = []config.Listener{{Transport: "udp", Address: "0.0.0.0:5070"}}
	if nodeName(a) == nodeName(b) {
		t.Errorf("both gateways are node %q", nodeName(a))
	}
	if nodeName(a) != nodeName(config.Default()) {
		t.Error("the node name changes between starts")
	}
}

// lineOf returns the 1-based line of the config file at path that contains
// s, failing the test when there is none.
func lineOf(t *testing.T, path, s string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", path, s)
	return 0
}

// serveRefused runs serve as the binary would, but with a context that has
// already ended: a config refused at start never gets as far as the
// context, and a gateway that wrongly starts stops at once (its exit code or
// error tells) instead of running until the test times out.
func serveRefused(t *testing.T, cfgPath string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb testlog.Buffer
	code = run(ctx, []string{"serve", "-c", cfgPath}, strings.NewReader(""), &out, &errb)
	return errb.String(), code
}

// unsetenv unsets name for the test and restores it afterwards.
func unsetenv(t *testing.T, name string) {
	t.Setenv(name, "")
	os.Unsetenv(name)
}

// TestTrunkSecretsReadOnlyByServe: a trunk password kept in a variable
// that is not set, or in a file that does not exist, does not stop the
// commands that never use a trunk; serve refuses to start and names the
// file, line, key and the variable or file.
func TestTrunkSecretsReadOnlyByServe(t *testing.T) {
	cfg := writeConfig(t, "sqlite")
	pwFile := filepath.Join(t.TempDir(), "carrier-in-password")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, `trunks:
  - name: carrier
    proxy: 127.0.0.1:9
    username: "4420000000"
    password: {env: TL_CMD_CARRIER_PASSWORD}
    inbound_username: carrier-in
    inbound_password: {file: %q}
`, pwFile)
	f.Close()
	unsetenv(t, "TL_CMD_CARRIER_PASSWORD")

	// The directory commands work.
	mustRun(t, "", "migrate", "-c", cfg)
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0100", "--kind", "role", "--role", "buyer")
	mustRun(t, "alice-secret-1\n", "user", "add", "-c", cfg, "--username", "alice", "--name", "Alice Smith", "--sip-password-stdin")
	if out := mustRun(t, "", "user", "list", "-c", cfg); !strings.Contains(out, "alice") {
		t.Errorf("user list printed %q", out)
	}
	if out := mustRun(t, "", "number", "list", "-c", cfg); !strings.Contains(out, "+15125550100") {
		t.Errorf("number list printed %q", out)
	}
	mustRun(t, "", "lead", "add", "-c", cfg, "--phone", "737-555-9999", "--agent", "buyer=alice")
	mustRun(t, "", "lead", "list", "-c", cfg)
	mustRun(t, "", "token", "create", "-c", cfg, "--user", "alice", "--name", "cli")
	mustRun(t, "", "token", "list", "-c", cfg)
	if out := mustRun(t, "", "export", "-c", cfg); !strings.Contains(out, "username: alice") {
		t.Errorf("export printed %q", out)
	}
	mustRun(t, "", "apply", "-c", cfg, "-f", "testdata/team.yaml", "--dry-run")
	if out := mustRun(t, "", "route", "-c", cfg, "--to", "+15125550100", "--from", "+17375559999"); !strings.Contains(out, "alice") {
		t.Errorf("route printed %q", out)
	}

	// The gateway does not start, and says why, for both secrets at once.
	errs, code := serveRefused(t, cfg)
	for _, want := range []string{
		fmt.Sprintf("%s:%d: trunks[0].password: environment variable TL_CMD_CARRIER_PASSWORD is not set", cfg, lineOf(t, cfg, "password: {env:")),
		fmt.Sprintf("%s:%d: trunks[0].inbound_password: secret file: stat %s: no such file or directory", cfg, lineOf(t, cfg, "inbound_password:"), pwFile),
	} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("serve: exit %d, stderr:\n%s\nwant exit 1 and %q", code, errs, want)
		}
	}
	if strings.Contains(errs, "teamline starting") {
		t.Errorf("serve started before refusing:\n%s", errs)
	}

	// With the variable set and the file written, it starts.
	t.Setenv("TL_CMD_CARRIER_PASSWORD", "carrier-secret")
	if err := os.WriteFile(pwFile, []byte("carrier-in-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := serve(t, cfg)
	if code := g.stop(); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, g.log.String())
	}
	for _, secret := range []string{"carrier-secret", "carrier-in-secret"} {
		if strings.Contains(g.log.String(), secret) {
			t.Errorf("the log shows a trunk password:\n%s", g.log.String())
		}
	}
}

// TestDatabaseDSNSecretReadByEveryDatabaseCommand: the database DSN is read
// by every command that opens the database, and it is the database used.
func TestDatabaseDSNSecretReadByEveryDatabaseCommand(t *testing.T) {
	cfg := writeConfig(t, "sqlite")
	data, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), `dsn: ""`, `dsn: {env: TL_CMD_DSN}`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	unsetenv(t, "TL_CMD_DSN")
	unsetenv(t, "TEAMLINE_DATABASE_DSN")
	want := fmt.Sprintf("%s:%d: database.dsn: environment variable TL_CMD_DSN is not set", cfg, lineOf(t, cfg, "dsn:"))
	for _, args := range [][]string{{"user", "list"}, {"migrate"}} {
		_, errs, code := teamline(t, "", append(args, "-c", cfg)...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("teamline %v: exit %d, stderr %q; want exit 1 and %q", args, code, errs, want)
		}
	}
	if errs, code := serveRefused(t, cfg); code != 1 || !strings.Contains(errs, want) {
		t.Errorf("teamline serve: exit %d, stderr %q; want exit 1 and %q", code, errs, want)
	}
	mustRun(t, "", "version")

	db := filepath.Join(t.TempDir(), "from-env.db")
	t.Setenv("TL_CMD_DSN", db)
	if out := mustRun(t, "", "migrate", "-c", cfg); !strings.Contains(out, "database sqlite "+db+" is up to date") {
		t.Errorf("migrate printed %q, want the database from TL_CMD_DSN", out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database named by TL_CMD_DSN was not made: %v", err)
	}
}

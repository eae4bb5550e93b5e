// Package gwtest runs a real `teamline serve` as a child process, for the
// end-to-end tests of other packages (SIP corpora, softphones, SIPp): the
// binary is built once per test process, each Start gets its own data
// directory, loopback listeners on free ports, and optionally a directory
// file applied before the gateway starts. Only tests import it.
package gwtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/teamline/teamline/internal/testlog"
)

// Options say how to run one gateway; the zero value is a gateway with an
// empty directory on 127.0.0.1.
type Options struct {
	// ConfigYAML is merged over the generated base config: mappings key by
	// key, anything else (a list such as sip.listen or trunks, a scalar)
	// replaces the base value. The base has data_dir in t.TempDir(),
	// http.listen 127.0.0.1:0, UDP and TCP listeners on 127.0.0.1:0 and a
	// 2s calls.drain_timeout so that Stop is quick.
	ConfigYAML string
	// Directory, when not empty, is a directory file (YAML, as
	// `teamline apply -f` reads it) applied before the gateway starts.
	Directory string
}

// Gateway is a running `teamline serve`.
type Gateway struct {
	// SIPUDP and SIPTCP are the host:port of the first listener of each
	// transport ("" when there is none).
	SIPUDP, SIPTCP string
	// HTTP is the base URL of the API listener, e.g. http://127.0.0.1:41234.
	HTTP string
	// AdminToken is the API token of the primary manager the first start
	// created (data_dir/admin-token); "" when the directory already named
	// a primary manager and none was created.
	AdminToken string
	// ConfigPath is the config file the gateway runs with; DataDir its
	// data directory.
	ConfigPath, DataDir string

	// env is the children's environment: the test's, without its
	// TEAMLINE_* variables.
	env  []string
	cmd  *exec.Cmd
	log  *testlog.Buffer
	done chan struct{}
	err  error // the process's exit, once done is closed

	stopOnce sync.Once
	stopErr  error
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of the teamline binary: $TEAMLINE_BIN when set,
// otherwise one built from this module's ./cmd/teamline, once per test
// process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("gwtest: %v", buildErr)
	}
	return binPath
}

func build() (string, error) {
	if p := os.Getenv("TEAMLINE_BIN"); p != "" {
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot tell where the module is")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	// One stable path per user, replaced by rename: test processes of
	// several packages build at once, and none leaves a copy behind.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("teamline-gwtest-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building teamline: %w (or set TEAMLINE_BIN)", err)
	}
	cmd := exec.Command(goBin, "build", "-o", tmp.Name(), "./cmd/teamline")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("go build ./cmd/teamline: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "teamline")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

var (
	reHTTP     = regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	reListener = regexp.MustCompile(`msg="sip listening" transport=(\S+) address=(\S+)`)
)

// startTimeout bounds how long the gateway may take to log its listeners.
const startTimeout = 30 * time.Second

// Start writes the config, applies opts.Directory, runs `teamline serve`
// and returns once the HTTP and every SIP listener are up. The gateway is
// stopped when the test ends; if the test failed, the tail of its log is
// printed then.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	g := &Gateway{log: &testlog.Buffer{}, done: make(chan struct{}), DataDir: filepath.Join(dir, "data")}
	g.ConfigPath = filepath.Join(dir, "teamline.yaml")
	cfg, listeners, err := config(g.DataDir, opts)
	if err != nil {
		t.Fatalf("gwtest: config: %v", err)
	}
	if err := os.WriteFile(g.ConfigPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEAMLINE_") {
			g.env = append(g.env, kv)
		}
	}
	if opts.Directory != "" {
		path := filepath.Join(dir, "directory.yaml")
		if err := os.WriteFile(path, []byte(opts.Directory), 0o600); err != nil {
			t.Fatal(err)
		}
		g.Run(t, "", "apply", "-f", path)
	}

	g.cmd = exec.Command(bin, "serve", "-c", g.ConfigPath)
	g.cmd.Env = g.env
	g.cmd.Stdout = g.log
	g.cmd.Stderr = g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("gwtest: %v", err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		err := g.Stop()
		if t.Failed() {
			t.Logf("gateway log (tail):\n%s", Tail(g.log.String(), 80))
		}
		if err != nil {
			t.Errorf("gwtest: gateway stop: %v", err)
		}
	})

	deadline := time.After(startTimeout)
	for {
		logs := g.log.String()
		if h := reHTTP.FindStringSubmatch(logs); h != nil {
			found := reListener.FindAllStringSubmatch(logs, -1)
			if len(found) >= listeners {
				g.HTTP = "http://" + h[1]
				for _, m := range found {
					switch m[1] {
					case "udp":
						setOnce(&g.SIPUDP, m[2])
					case "tcp":
						setOnce(&g.SIPTCP, m[2])
					}
				}
				break
			}
		}
		select {
		case <-g.done:
			t.Fatalf("gwtest: teamline serve exited (%v):\n%s", g.err, logs)
		case <-deadline:
			t.Fatalf("gwtest: teamline serve did not start within %s:\n%s", startTimeout, logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if b, err := os.ReadFile(filepath.Join(g.DataDir, "admin-token")); err == nil {
		g.AdminToken = strings.TrimSpace(string(b))
	}
	return g
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// config returns the merged config file and how many SIP listeners it has.
func config(dataDir string, opts Options) ([]byte, int, error) {
	const addr = "127.0.0.1:0"
	base := map[string]any{
		"data_dir": dataDir,
		"http":     map[string]any{"listen": "127.0.0.1:0"},
		"sip": map[string]any{"listen": []any{
			map[string]any{"transport": "udp", "address": addr},
			map[string]any{"transport": "tcp", "address": addr},
		}},
		"calls": map[string]any{"drain_timeout": "2s"},
	}
	var over map[string]any
	if err := yaml.Unmarshal([]byte(opts.ConfigYAML), &over); err != nil {
		return nil, 0, fmt.Errorf("Options.ConfigYAML: %w", err)
	}
	merged := merge(base, over)
	n := 0
	if s, ok := merged["sip"].(map[string]any); ok {
		if l, ok := s["listen"].([]any); ok {
			n = len(l)
		}
	}
	b, err := yaml.Marshal(merged)
	return b, n, err
}

// merge lays over on base: mappings are merged key by key, anything else
// replaces.
func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		bm, ok1 := base[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			base[k] = merge(bm, om)
			continue
		}
		base[k] = v
	}
	return base
}

// Run runs a CLI verb of the same binary against the gateway's config
// (e.g. "token", "create", "--user", "alice", "--name", "test") with stdin
// and returns its stdout; a non-zero exit fails the test.
func (g *Gateway) Run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Binary(t), append(args, "-c", g.ConfigPath)...)
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gwtest: teamline %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// Exited reports whether the gateway process has ended (crashed, or was
// stopped).
func (g *Gateway) Exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// stopTimeout bounds a clean stop before the process is killed.
const stopTimeout = 30 * time.Second

// Stop sends SIGTERM and waits for the gateway to end (killing it after
// 30 s). It returns the error of an unclean exit, and the same on every
// later call.
func (g *Gateway) Stop() error {
	g.stopOnce.Do(func() {
		select {
		case <-g.done:
			// It ended before it was asked to.
			if g.err != nil {
				g.stopErr = fmt.Errorf("exited before Stop: %w", g.err)
			} else {
				g.stopErr = errors.New("exited before Stop")
			}
			return
		default:
		}
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
			g.stopErr = g.err
		case <-time.After(stopTimeout):
			_ = g.cmd.Process.Kill()
			<-g.done
			g.stopErr = fmt.Errorf("did not stop within %s after SIGTERM; killed", stopTimeout)
		}
	})
	return g.stopErr
}

// Tail returns the last n lines of s (a process's output), for failure
// messages.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

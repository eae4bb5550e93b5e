package gwtest

import (
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestStart runs a gateway with a directory and a config override, and
// checks the addresses it reports answer (/healthz, an OPTIONS over UDP)
// and that the directory was applied.
func TestStart(t *testing.T) {
	g := Start(t, Options{
		ConfigYAML: "sip:\n  realm: gwtest\n",
		Directory:  "numbers:\n  - {number: \"+15125550100\", kind: role, role: buyer}\n",
	})
	if g.SIPUDP == "" || g.SIPTCP == "" || g.AdminToken == "" {
		t.Fatalf("gateway %+v: missing an address or the admin token", g)
	}
	resp, err := http.Get(g.HTTP + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}

	c, err := net.Dial("udp", g.SIPUDP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + g.SIPUDP + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-gwtest-1\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@" + local + ">;tag=1\r\nTo: <sip:" + g.SIPUDP + ">\r\n" +
		"Call-ID: gwtest-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer to OPTIONS: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 ") {
		t.Fatalf("answer: %q", buf[:n])
	}
	if out := g.Run(t, "", "number", "list"); !strings.Contains(out, "+15125550100") {
		t.Errorf("number list printed %q, want the directory's number", out)
	}
	if err := g.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !g.Exited() {
		t.Fatal("still running after Stop")
	}
}

// TestConfigMerge: ConfigYAML is laid over the base key by key; a list
// replaces the base list.
func TestConfigMerge(t *testing.T) {
	b, n, err := config("/data", Options{ConfigYAML: "sip:\n  realm: gwtest\ntrunks: [{name: a}]\n"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	sip := got["sip"].(map[string]any)
	if n != 2 || sip["realm"] != "gwtest" || len(sip["listen"].([]any)) != 2 || got["data_dir"] != "/data" ||
		!reflect.DeepEqual(got["trunks"], []any{map[string]any{"name": "a"}}) {
		t.Errorf("merged config (%d listeners):\n%s", n, b)
	}

	b, n, err = config("/data", Options{ConfigYAML: "sip:\n  listen: [{transport: udp, address: '127.0.0.1:0'}]\n"})
	if err != nil || n != 1 {
		t.Errorf("a listen list replacing the base: %d listeners, %v\n%s", n, err, b)
	}
	if _, _, err := config("/data", Options{ConfigYAML: "sip: ["}); err == nil {
		t.Error("malformed ConfigYAML accepted")
	}
}

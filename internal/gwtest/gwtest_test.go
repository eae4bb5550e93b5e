package gwtest

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStart runs a gateway with a directory and a config override, and
// checks the addresses it reports answer: /healthz, and an OPTIONS over UDP.
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
	if err := g.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !g.Exited() {
		t.Fatal("still running after Stop")
	}
}

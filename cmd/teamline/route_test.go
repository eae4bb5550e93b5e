package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// route runs `teamline route ARGS` in-process, as the binary would.
func route(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return teamline(t, "", append([]string{"route"}, args...)...)
}

func TestRouteVerb(t *testing.T) {
	cfg := writeConfig(t, "sqlite")
	mustRun(t, "", "user", "add", "-c", cfg, "--username", "alice", "--name", "Alice Smith", "--role", "agent")
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "(512) 555-0100", "--kind", "role", "--role", "buyer")
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0110", "--kind", "personal", "--owner", "alice")
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0199", "--kind", "catch_all")

	// A personal number rings its owner: the trace, then the outcome.
	out, errs, code := route(t, "-c", cfg, "--from", "+15550100123", "--to", "512 555 0110")
	if code != 0 || !strings.HasPrefix(out, " 1. ") || !strings.HasSuffix(out, "=> direct: alice (voicemail: alice)\n") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}

	// A stranger on the buyer line, as JSON: forwarded, into the inbox.
	out, errs, code = route(t, "-c", cfg, "--from", "+17375550001", "--to", "+15125550100",
		"--at", "2026-11-22T20:30:00-05:00", "--kind", "text", "--json")
	var x struct {
		Action    string   `json:"action"`
		ForwardTo string   `json:"forward_to"`
		Inbox     bool     `json:"inbox"`
		At        string   `json:"at"`
		Trace     []string `json:"trace"`
		Text      string   `json:"text"`
		Number    struct{ Number, Kind, Role string }
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, out, errs)
	}
	if x.Action != "forward" || x.ForwardTo != "+15125550199" || !x.Inbox || x.At != "2026-11-23T01:30:00Z" ||
		x.Number.Role != "buyer" || len(x.Trace) == 0 || !strings.Contains(x.Text, "=> forward to the catch-all number +15125550199") {
		t.Fatalf("decision %s", out)
	}

	// A known lead calling, the caller in any form (explained as E.164):
	// to the lead's agent.
	mustRun(t, "", "lead", "add", "-c", cfg, "--phone", "+1 737 555 0009", "--name", "Jane Doe", "--agent", "buyer=alice")
	out, errs, code = route(t, "-c", cfg, "--from", "(737) 555-0009", "--to", "512 555 0100")
	if code != 0 || !strings.Contains(out, "call from +17375550009 to +15125550100 at") || !strings.Contains(out, "caller is lead ") ||
		!strings.HasSuffix(out, "=> direct: alice (voicemail: alice)\n") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}

	// A number that is not the team's is rejected: an answer, exit 0.
	out, _, code = route(t, "-c", cfg, "--to", "+15125550150")
	if code != 0 || !strings.Contains(out, "=> rejected") {
		t.Fatalf("exit %d: %s", code, out)
	}

	// Wrong command lines are usage errors; a -to that is no number an error.
	for _, args := range [][]string{
		{"-c", cfg},
		{"-c", cfg, "--to", "+15125550100", "--at", "tomorrow"},
		{"-c", cfg, "--to", "+15125550100", "--kind", "fax"},
		{"-c", cfg, "--to", "+15125550100", "extra"},
	} {
		if _, _, code := route(t, args...); code != exitUsage {
			t.Errorf("route %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if _, errs, code := route(t, "-c", cfg, "--to", "12"); code != 1 || !strings.Contains(errs, `-to "12"`) {
		t.Fatalf("bad -to: exit %d, %s", code, errs)
	}
}

// TestServeRoutesAndVerifies: serve wires the router into the API (explain,
// the inbox, new leads routed) and the configured code sender into cell
// phone verification; the lab sender logs the code because log_codes is on.
func TestServeRoutesAndVerifies(t *testing.T) {
	cfg := writeConfig(t, "sqlite")
	b, _ := os.ReadFile(cfg)
	b = append(b, "verification:\n  sender: log\n  log_codes: true\n"...)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "user", "add", "-c", cfg, "--username", "maria", "--name", "Maria", "--role", "primary_manager")
	mustRun(t, "", "user", "add", "-c", cfg, "--username", "alice", "--name", "Alice", "--role", "agent")
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0100", "--kind", "role", "--role", "buyer")
	mustRun(t, "", "number", "add", "-c", cfg, "--number", "+1 512 555 0110", "--kind", "personal", "--owner", "alice")
	token := strings.TrimSpace(mustRun(t, "", "token", "create", "-c", cfg, "--user", "maria", "--name", "test"))
	g := serve(t, cfg)

	var x struct {
		Action, Mode, Username string
	}
	if code := g.get(t, token, "/api/v1/route/explain?from=%2B17375550001&to=%2B15125550110", &x); code != 200 ||
		x.Action != "ring_user" || x.Username != "alice" {
		t.Fatalf("explain: %d %+v", code, x)
	}
	var inbox struct {
		Items     []any `json:"items"`
		OpenCount *int  `json:"open_count"`
	}
	if code := g.get(t, token, "/api/v1/inbox", &inbox); code != 200 || inbox.OpenCount == nil {
		t.Fatalf("inbox: %d %+v", code, inbox)
	}
	var lead struct {
		ID      int64 `json:"id"`
		Routing *struct {
			Action string   `json:"action"`
			Trace  []string `json:"trace"`
		} `json:"routing"`
	}
	if code := post(t, g, token, "/api/v1/leads", `{"phones": ["+17375550002"], "type": "buyer"}`, &lead); code != 201 ||
		lead.ID == 0 || lead.Routing == nil || len(lead.Routing.Trace) == 0 {
		t.Fatalf("lead: %d %+v", code, lead)
	}

	var alice int64
	for _, u := range g.listAll(t, token, "/api/v1/users") {
		if u["username"] == "alice" {
			alice = int64(u["id"].(float64))
		}
	}
	path := fmt.Sprintf("/api/v1/users/%d/cell_phone/", alice)
	if code := post(t, g, token, path+"verify", `{"phone": "(512) 555-0181"}`, nil); code != 202 {
		t.Fatalf("verify: %d\n%s", code, g.log.String())
	}
	m := regexp.MustCompile(`to=\+15125550181 text="Your Teamline verification code is (\d{6})"`).FindStringSubmatch(g.log.String())
	if m == nil {
		t.Fatalf("the code is not in the log:\n%s", g.log.String())
	}
	var u struct {
		CellPhone    string `json:"cell_phone"`
		CellVerified bool   `json:"cell_verified"`
	}
	if code := post(t, g, token, path+"confirm", `{"code": "`+m[1]+`"}`, &u); code != 200 || !u.CellVerified || u.CellPhone != "+15125550181" {
		t.Fatalf("confirm: %d %+v", code, u)
	}
}

// post sends a JSON body and decodes the answer into v (if not nil).
func post(t *testing.T, g *gateway, token, path, body string, v any) int {
	t.Helper()
	code, _ := postJSON(t, g, token, path, body, v)
	return code
}

// postJSON posts body as token and decodes the answer into v; it returns
// the status and the Location header.
func postJSON(t *testing.T, g *gateway, token, path, body string, v any) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", g.http+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	if v != nil {
		if err := json.Unmarshal(raw.Bytes(), v); err != nil {
			t.Fatalf("POST %s: %d %v: %s", path, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

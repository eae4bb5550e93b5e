package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/teamline/teamline/internal/sipptest"
	"github.com/teamline/teamline/internal/testlog"
)

// Calls the gateway places itself, driven through the API of a real
// `teamline serve`: click-to-call (POST /api/v1/calls) and a new lead
// offered by an instant call (POST /api/v1/leads). The agents' phones are
// SIPp processes on 127.0.0.1 that register with digest authentication;
// the number called is a sipgo answering phone at 127.0.0.3, the proxy of
// the gateway's only trunk.

// dialerTeam is the directory of the dialer tests; rules are added per
// test. alice and bob may dial, dave may not.
const dialerTeam = `
settings:
  ring_timeout_seconds: 10
  voicemail: false
  agents_dialer: true
  actionable_start: "00:00"
  actionable_end: "24:00"
users:
  - {username: maria, name: Maria, role: primary_manager}
  - {username: alice, name: Alice Smith, role: agent, sip_password: alice-pw-1, dialer_access: true}
  - {username: bob, name: Bob Jones, role: agent, sip_password: bob-pw-22, dialer_access: true}
  - {username: dave, name: Dave Poe, role: agent, sip_password: dave-pw-44}
numbers:
  - {number: "+15125550100", kind: role, role: buyer}
`

var dialerPasswords = map[string]string{"alice": "alice-pw-1", "bob": "bob-pw-22", "dave": "dave-pw-44"}

// buyerNumber is the team's buyer role number: the caller ID of the calls.
const buyerNumber = "+15125550100"

// dialerGateway applies dialerTeam (and rules), makes an API token for
// each of users, and runs `teamline serve` with one outbound trunk whose
// proxy is the number's phone, which it returns too.
func dialerGateway(t *testing.T, rules string, users ...string) (*gateway, *farEnd, map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatal("sipp not found: install sip-tester (apt-get install sip-tester)")
	}
	number := startFarEnd(t, "127.0.0.3")
	cfg := writeConfig(t, "sqlite")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A short drain: a test that fails mid-call must not wait minutes
	// for the gateway to stop.
	b = append(b, fmt.Sprintf("calls:\n  drain_timeout: 2s\ntrunks:\n  - {name: carrier, proxy: %q}\n", number.addr)...)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	team := filepath.Join(t.TempDir(), "team.yaml")
	if err := os.WriteFile(team, []byte(dialerTeam+rules), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "apply", "-c", cfg, "-f", team)
	tokens := map[string]string{}
	for _, u := range users {
		tokens[u] = strings.TrimSpace(mustRun(t, "", "token", "create", "-c", cfg, "--user", u, "--name", "dialer test"))
	}
	g := serve(t, cfg)
	number.gw.Store(g.log)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.log.String())
		}
	})
	return g, number, tokens
}

// farEnd is the phone of the number called, behind the trunk: it answers
// every INVITE and hangs up a second after the answer.
type farEnd struct {
	addr    string
	invites atomic.Int32
	// hungUp counts the BYEs it sent that the gateway answered 200;
	// byes the BYEs it got.
	hungUp atomic.Int32
	byes   atomic.Int32
	// gw is the gateway's log, read when an INVITE arrives.
	gw atomic.Pointer[testlog.Buffer]

	mu sync.Mutex
	// froms are the From users of the INVITEs; agentFirst says for each
	// whether the gateway had an agent on the line when it came.
	froms      []string
	agentFirst []string
	errs       []error
}

func (f *farEnd) fail(err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

// invite is what the n-th INVITE showed: its From user and the agent the
// gateway had on the line ("" for none).
func (f *farEnd) invite(t *testing.T, n int) (from, agent string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.froms) <= n {
		t.Fatalf("the number got %d INVITEs, want more than %d", len(f.froms), n)
	}
	return f.froms[n], f.agentFirst[n]
}

func (f *farEnd) errors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

// startFarEnd runs the number's phone on a free UDP port of ip.
func startFarEnd(t *testing.T, ip string) *farEnd {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-number"),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	// Where the gateway's audio goes; read and dropped.
	rtp, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := rtp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	f := &farEnd{addr: conn.LocalAddr().String()}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(f.addr), sipgo.WithClientLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	dialogs := sipgo.NewDialogServerCache(client, gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "number", Host: ip, Port: port}})
	answer := fmt.Sprintf("v=0\r\no=number 1 1 IN IP4 %[1]s\r\ns=-\r\nc=IN IP4 %[1]s\r\nt=0 0\r\nm=audio %[2]d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		ip, rtp.LocalAddr().(*net.UDPAddr).Port)
	var calls sync.WaitGroup
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if to := req.To(); to != nil && to.Params.Has("tag") {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
		f.invites.Add(1)
		from, agent := "", ""
		if h := req.From(); h != nil {
			from = h.Address.User
		}
		if logs := f.gw.Load(); logs != nil {
			agent = agentOnLine(logs.String())
		}
		f.mu.Lock()
		f.froms, f.agentFirst = append(f.froms, from), append(f.agentFirst, agent)
		f.mu.Unlock()
		d, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			f.fail(fmt.Errorf("INVITE: %w", err))
			return
		}
		_ = d.Respond(180, "Ringing", nil)
		if err := d.RespondSDP([]byte(answer)); err != nil {
			f.fail(fmt.Errorf("200 OK: %w", err))
			return
		}
		// Talk for a second, then hang up (Bye waits for the ACK).
		calls.Add(1)
		go func() {
			defer calls.Done()
			time.Sleep(time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Bye(ctx); err != nil {
				f.fail(fmt.Errorf("BYE: %w", err))
				return
			}
			f.hungUp.Add(1)
		}()
	})
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = dialogs.ReadAck(req, tx)
	})
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		f.byes.Add(1)
		if err := dialogs.ReadBye(req, tx); err != nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		calls.Wait()
		_ = conn.Close()
		_ = rtp.Close()
		<-done
		_ = ua.Close()
	})
	return f
}

// agentOnLine is the agent the gateway's log says it has on the line,
// calling the number ("" if none yet).
func agentOnLine(logs string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `msg="agent on the line, calling the number"`) {
			_, after, _ := strings.Cut(line, " agent=")
			name, _, _ := strings.Cut(after, " ")
			return name
		}
	}
	return ""
}

// logged reports whether one line of logs has all of parts.
func logged(logs string, parts ...string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// sippPhone is an agent's phone: one SIPp process.
type sippPhone struct {
	user string
	dir  string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startPhone starts user's phone (SIPp on 127.0.0.1), which registers to
// the gateway's UDP address and runs scenario (agent_answer.xml, agent_press1.xml) on
// the call it gets, and waits until the gateway lists the registration.
func startPhone(t *testing.T, g *gateway, managerToken, user, scenario string, args ...string) *sippPhone {
	t.Helper()
	p := &sippPhone{user: user, dir: t.TempDir(), done: make(chan error, 1)}
	all := append([]string{
		"-sf", sipptest.Scenario("agent_user.xml"),
		"-oocsf", sipptest.Scenario(scenario),
		"-set", "user", user, "-au", user, "-ap", dialerPasswords[user],
		"-i", "127.0.0.1", "-p", strconv.Itoa(sipptest.FreeUDPPort(t, "127.0.0.1")), "-mp", strconv.Itoa(sipptest.FreeUDPPort(t, "127.0.0.1")),
		"-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(p.dir, "errors.log"),
		"-trace_msg", "-message_file", filepath.Join(p.dir, "messages.log"),
	}, args...)
	all = append(all, g.sipUDP)
	p.cmd = exec.Command("sipp", all...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("sipp for %s: %v", user, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's phone:\n%s", user, p.report())
		}
	})

	// The gateway lists the registration.
	var id int64
	for _, u := range g.listAll(t, managerToken, "/api/v1/users") {
		if u["username"] == user {
			id = int64(u["id"].(float64))
		}
	}
	path := fmt.Sprintf("/api/v1/users/%d/registrations", id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var regs struct {
			Items []map[string]any `json:"items"`
		}
		if code := g.get(t, managerToken, path, &regs); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if len(regs.Items) > 0 {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s's phone exited before registering: %v", user, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's phone did not register", user)
		}
	}
}

// wait waits for the phone's scenario to end (after the call's BYE) and
// fails the test unless SIPp exited 0.
func (p *sippPhone) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("%s's phone: %v", p.user, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s's phone still in its scenario after 15s", p.user)
	}
}

// invitedFrom is the From header of the first INVITE the phone got, from
// SIPp's message log (complete once SIPp has exited).
func (p *sippPhone) invitedFrom(t *testing.T) string {
	t.Helper()
	msgs, err := os.ReadFile(filepath.Join(p.dir, "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	_, invite, ok := strings.Cut(string(msgs), "\nINVITE sip:")
	if !ok {
		t.Fatalf("%s's phone got no INVITE", p.user)
	}
	invite, _, _ = strings.Cut(invite, "\n\n")
	for line := range strings.SplitSeq(invite, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "From:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s's phone got an INVITE without From", p.user)
	return ""
}

func (p *sippPhone) report() string {
	errs, _ := os.ReadFile(filepath.Join(p.dir, "errors.log"))
	msgs, _ := os.ReadFile(filepath.Join(p.dir, "messages.log"))
	return "--- sipp output:\n" + p.out.String() + "\n--- sipp errors:\n" + string(errs) + "\n--- sipp messages:\n" + string(msgs)
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiCall is a call record as GET /api/v1/calls/{id} shows it.
type apiCall struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Role      string    `json:"role"`
	User      string    `json:"user"`
	LeadID    int64     `json:"lead_id"`
	Trunk     string    `json:"trunk"`
	Route     string    `json:"route"`
	Answer    time.Time `json:"answer"`
	End       time.Time `json:"end"`
	Result    string    `json:"result"`
	SIPReason string    `json:"sip_reason"`
}

// endedCall waits until call record id has ended and returns it.
func endedCall(t *testing.T, g *gateway, token string, id int64) apiCall {
	t.Helper()
	var c apiCall
	path := fmt.Sprintf("/api/v1/calls/%d", id)
	eventually(t, "the call record closed", func() bool {
		c = apiCall{}
		if code := g.get(t, token, path, &c); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		return !c.End.IsZero()
	})
	return c
}

// TestClickToCallThroughTheAPI: alice places a call through the API; her
// SIPp phone rings and answers, and only then is the number called
// through the trunk, from the buyer role number; the number hangs up
// after a second, which hangs alice up. dave, without dialer access, is
// refused and no record is written for him.
func TestClickToCallThroughTheAPI(t *testing.T) {
	g, number, tokens := dialerGateway(t, "", "maria", "alice", "dave")

	var problem struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	// Refused by the dialer's own check (R-ACC-2), said as such.
	if code, _ := postJSON(t, g, tokens["dave"], "/api/v1/calls", `{"to": "+17375550001", "caller_id": "", "user": ""}`, &problem); code != 403 ||
		problem.Detail != "dialer not enabled for this user" {
		t.Fatalf("dave's call: %d %+v, want 403 dialer not enabled for this user", code, problem)
	}
	if calls := g.listAll(t, tokens["maria"], "/api/v1/calls"); len(calls) != 0 {
		t.Fatalf("a refused call wrote records: %v", calls)
	}

	alice := startPhone(t, g, tokens["maria"], "alice", "agent_answer.xml")
	var placed struct {
		CallRecordID int64 `json:"call_record_id"`
	}
	code, loc := postJSON(t, g, tokens["alice"], "/api/v1/calls", `{"to": "+17375550001", "caller_id": "", "user": ""}`, &placed)
	if code != 202 || placed.CallRecordID == 0 || loc != fmt.Sprintf("/api/v1/calls/%d", placed.CallRecordID) {
		t.Fatalf("POST /api/v1/calls: %d %+v, Location %q", code, placed, loc)
	}
	eventually(t, "the number called", func() bool { return number.invites.Load() == 1 })
	if from, agent := number.invite(t, 0); from != buyerNumber || agent != "alice" {
		t.Errorf("the number's INVITE: From user %q, agent on the line %q; want %s, alice", from, agent, buyerNumber)
	}
	alice.wait(t)
	// alice's phone showed whom she was calling.
	if from := alice.invitedFrom(t); !strings.Contains(from, "<sip:+17375550001@") {
		t.Errorf("alice's phone got From %q, want the number called", from)
	}
	c := endedCall(t, g, tokens["alice"], placed.CallRecordID)
	if c.Result != "answered" || c.User != "alice" || c.To != "+17375550001" || c.From != buyerNumber ||
		c.Direction != "outbound" || c.Trunk != "carrier" || c.Answer.IsZero() || c.SIPReason != "BYE from the number called" {
		t.Errorf("call record %+v", c)
	}
	if !strings.Contains(c.Route, "click-to-call: alice's phones, then +17375550001") {
		t.Errorf("call record's route %q", c.Route)
	}
	if n := number.hungUp.Load(); n != 1 {
		t.Errorf("the number's BYE answered %d times, want 1 (errors %v)", n, number.errors())
	}
	if calls := g.listAll(t, tokens["maria"], "/api/v1/calls"); len(calls) != 1 {
		t.Errorf("%d call records, want alice's only", len(calls))
	}
	if n := number.invites.Load(); n != 1 {
		t.Errorf("the number got %d INVITEs, want 1", n)
	}
}

// TestNewLeadOfferedByInstantCallThroughTheAPI: a lead from the web form,
// posted through the API, matches an instant-call rule: bob's SIPp phone
// rings with the whisper, answers and presses 1 (RFC 4733), and the lead
// is called from the buyer role number; bob gets the lead.
func TestNewLeadOfferedByInstantCallThroughTheAPI(t *testing.T) {
	g, number, tokens := dialerGateway(t, `
rules:
  - {name: web leads, active: true, criteria: {source: [web form]}, distribution: instant_call, agents: [{user: bob}]}
`, "maria", "bob")
	press1 := filepath.Join(t.TempDir(), "press1.pcap")
	sipptest.WriteRTPPcap(t, press1, sipptest.EventPT, 0x1234, sipptest.DigitEvents(1))
	bob := startPhone(t, g, tokens["maria"], "bob", "agent_press1.xml", "-key", "dtmf_pcap", press1)

	var lead struct {
		ID      int64 `json:"id"`
		Routing *struct {
			Action       string   `json:"action"`
			Mode         string   `json:"mode"`
			Rule         *string  `json:"rule"`
			Agents       []string `json:"agents"`
			CallRecordID int64    `json:"call_record_id"`
			Note         string   `json:"note"`
			Error        string   `json:"error"`
		} `json:"routing"`
	}
	code, _ := postJSON(t, g, tokens["maria"], "/api/v1/leads",
		`{"phones":["+17375550042"],"name":"Web Lead","source":"web form","type":"buyer"}`, &lead)
	if code != 201 || lead.ID == 0 || lead.Routing == nil {
		t.Fatalf("POST /api/v1/leads: %d %+v", code, lead)
	}
	r := lead.Routing
	if r.Mode != "instant_call" || r.CallRecordID == 0 || r.Rule == nil || *r.Rule != "web leads" ||
		len(r.Agents) != 1 || r.Agents[0] != "bob" || r.Error != "" || r.Note != "" {
		t.Fatalf("routing %+v", *r)
	}

	eventually(t, "the lead called", func() bool { return number.invites.Load() == 1 })
	if from, agent := number.invite(t, 0); from != buyerNumber || agent != "bob" {
		t.Errorf("the lead's INVITE: From user %q, agent on the line %q; want %s, bob", from, agent, buyerNumber)
	}
	bob.wait(t)
	// bob's phone showed the lead's name on the buyer line.
	if from := bob.invitedFrom(t); !strings.Contains(from, `"Web Lead"`) || !strings.Contains(from, "<sip:"+buyerNumber+"@") {
		t.Errorf("bob's phone got From %q, want the lead's name and the buyer number", from)
	}
	c := endedCall(t, g, tokens["maria"], r.CallRecordID)
	if c.Result != "answered" || c.User != "bob" || c.To != "+17375550042" || c.From != buyerNumber ||
		c.LeadID != lead.ID || c.Role != "buyer" || c.Trunk != "carrier" || c.Answer.IsZero() {
		t.Errorf("call record %+v", c)
	}
	if !logged(g.log.String(), `msg="agent accepted the instant call"`, " by=bob") {
		t.Error("bob's press of 1 is not in the log")
	}
	if n := number.hungUp.Load(); n != 1 {
		t.Errorf("the lead's BYE answered %d times, want 1 (errors %v)", n, number.errors())
	}
	var got struct {
		Agents map[string]string `json:"agents"`
	}
	if code := g.get(t, tokens["maria"], fmt.Sprintf("/api/v1/leads/%d", lead.ID), &got); code != 200 || got.Agents["buyer"] != "bob" {
		t.Errorf("GET lead: %d, agents %v; want bob as the buyer agent", code, got.Agents)
	}
}

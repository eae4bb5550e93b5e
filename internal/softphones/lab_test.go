package softphones

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/gwtest"
)

// The lab: one gateway, one agent with a SIP password and a personal
// number, a carrier that calls in from carrierIP through the trunk
// "carrier-in", and a carrier that answers outbound calls at trunkIP
// through the trunk "carrier-out". Each test gets its own lab with its own
// addresses, so the tests run in parallel.

const (
	agent         = "alice"
	agentPassword = "alice-Secret-42"
	// agentNumber is alice's personal number: the number trunk_play.xml
	// calls, and the caller ID of her outbound calls (her default number).
	agentNumber = "+15125550110"
	// callerNumber is who trunk_play.xml calls from.
	callerNumber = "+17375559999"
	// dialed is what the phones dial; the gateway reads it in the US.
	dialed      = "5125550123"
	dialedE164  = "+15125550123"
	buyerNumber = "+15125550100"
)

// labDirectory is the team: alice may dial out, and calls are recorded.
// No primary manager is named, so the gateway makes admin and its token.
const labDirectory = `
settings:
  recording_enabled: true
  voicemail: false
  agents_dialer: true
users:
  - username: ` + agent + `
    name: Alice Smith
    role: agent
    sip_password: ` + agentPassword + `
    dialer_access: true
    default_number: "` + agentNumber + `"
numbers:
  - {number: "` + buyerNumber + `", kind: role, role: buyer}
  - {number: "` + agentNumber + `", kind: personal, owner: ` + agent + `}
`

type lab struct {
	gw        *gwtest.Gateway
	carrierIP string
	trunk     *trunkAnswer
}

// needCommand fails the test, naming the Debian package to install, when
// a program the test drives is missing: CI installs them, so a missing one
// is an error, not a reason to skip.
func needCommand(t *testing.T, command, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(command); err != nil {
		t.Fatalf("%s not found: install the Debian package %s (apt-get install %s); .ci/run does", command, pkg, pkg)
	}
}

// startLab starts the outbound carrier (SIPp answering on trunkIP) and a
// gateway whose trunks point at it and take calls from carrierIP.
func startLab(t *testing.T, carrierIP, trunkIP string) *lab {
	t.Helper()
	needCommand(t, "sipp", "sip-tester")
	l := &lab{carrierIP: carrierIP}
	l.trunk = startTrunkAnswer(t, trunkIP, writeTonePcap(t, "trunk.pcap", trunkTone, 6000))
	cfg := fmt.Sprintf(`
registrar:
  digest_algorithms: [MD5]
trunks:
  - name: carrier-in
    proxy: "%s:5060"
    outbound: false
    inbound_addresses: [%s]
  - name: carrier-out
    proxy: %q
`, carrierIP, carrierIP, l.trunk.addr)
	l.gw = gwtest.Start(t, gwtest.Options{ConfigYAML: cfg, Directory: labDirectory})
	if l.gw.AdminToken == "" {
		t.Fatal("the gateway made no admin token")
	}
	return l
}

// get GETs an API path as admin into v (JSON), failing the test on any
// answer but 200.
func (l *lab) get(t *testing.T, path string, v any) {
	t.Helper()
	b := l.fetch(t, path)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

// fetch GETs an API path as admin and returns the body.
func (l *lab) fetch(t *testing.T, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, l.gw.HTTP+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+l.gw.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	return b
}

// waitFor polls cond until it holds; after d the test fails with what.
// The waits are generous: they bound a hang, they time nothing.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registration is one device as GET /users/{id}/registrations lists it.
type registration struct {
	URI       string `json:"uri"`
	Source    string `json:"source"`
	UserAgent string `json:"user_agent"`
}

// waitRegistered waits until the gateway lists a registration of user
// whose User-Agent contains ua, and returns it.
func (l *lab) waitRegistered(t *testing.T, user, ua string) registration {
	t.Helper()
	var users struct {
		Items []struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
		} `json:"items"`
	}
	l.get(t, "/api/v1/users?limit=500", &users)
	var id int64
	for _, u := range users.Items {
		if u.Username == user {
			id = u.ID
		}
	}
	if id == 0 {
		t.Fatalf("no user %s", user)
	}
	var found registration
	waitFor(t, 30*time.Second, fmt.Sprintf("%s's %s phone registered", user, ua), func() bool {
		var regs struct {
			Items []registration `json:"items"`
		}
		l.get(t, fmt.Sprintf("/api/v1/users/%d/registrations", id), &regs)
		for _, r := range regs.Items {
			if strings.Contains(r.UserAgent, ua) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// callRecord is a call as GET /api/v1/calls lists it.
type callRecord struct {
	ID          int64     `json:"id"`
	CallID      string    `json:"call_id"`
	Direction   string    `json:"direction"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Dialed      string    `json:"dialed"`
	User        string    `json:"user"`
	Trunk       string    `json:"trunk"`
	Answer      time.Time `json:"answer"`
	End         time.Time `json:"end"`
	Result      string    `json:"result"`
	SIPCode     int       `json:"sip_code"`
	SIPReason   string    `json:"sip_reason"`
	RecordingID int64     `json:"recording_id"`
}

// calls lists every call record, oldest first.
func (l *lab) calls(t *testing.T) []callRecord {
	t.Helper()
	var list struct {
		Items []callRecord `json:"items"`
	}
	l.get(t, "/api/v1/calls?limit=500", &list)
	return list.Items
}

// endedCall waits for the one call record of direction and returns it once
// it has ended.
func (l *lab) endedCall(t *testing.T, direction string) callRecord {
	t.Helper()
	var c callRecord
	waitFor(t, 30*time.Second, "an ended "+direction+" call record", func() bool {
		var n int
		for _, r := range l.calls(t) {
			if r.Direction == direction {
				c, n = r, n+1
			}
		}
		if n > 1 {
			t.Fatalf("%d %s call records, want 1: %+v", n, direction, l.calls(t))
		}
		return n == 1 && !c.End.IsZero()
	})
	return c
}

// assertAnswered checks a call record says the call was answered by the
// agent through trunk.
func assertAnswered(t *testing.T, c callRecord, trunk, from, to string) {
	t.Helper()
	if c.Result != "answered" || c.Answer.IsZero() || c.User != agent || c.Trunk != trunk || c.From != from || c.To != to {
		t.Errorf("call record %+v: want answered by %s through %s, from %s to %s", c, agent, trunk, from, to)
	}
}

// recording waits until the recording of call record id is complete and
// returns its audio, as GET /recordings/{id}/audio serves it.
func (l *lab) recording(t *testing.T, callRecordID int64) wav {
	t.Helper()
	type rec struct {
		CallRecordID int64  `json:"call_record_id"`
		Complete     bool   `json:"complete"`
		AudioURL     string `json:"audio_url"`
	}
	var found rec
	waitFor(t, 30*time.Second, fmt.Sprintf("the recording of call %d complete", callRecordID), func() bool {
		var list struct {
			Items []rec `json:"items"`
		}
		l.get(t, "/api/v1/recordings?kind=call&limit=500", &list)
		for _, r := range list.Items {
			if r.CallRecordID == callRecordID && r.Complete {
				found = r
				return true
			}
		}
		return false
	})
	w, err := parseWAV(l.fetch(t, found.AudioURL))
	if err != nil {
		t.Fatalf("GET %s: %v", found.AudioURL, err)
	}
	if len(w.channels) != 2 || w.rate != 8000 {
		t.Fatalf("GET %s: %d channels at %d Hz, want stereo at 8000 Hz", found.AudioURL, len(w.channels), w.rate)
	}
	return w
}

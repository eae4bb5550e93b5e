package softphones

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/gwtest"
	"github.com/teamline/teamline/internal/sipptest"
)

// TestLinphonec: Linphone's console client (linphonec 5.1) registers as
// alice with digest authentication, auto-answers a carrier's call with
// audio both ways, and calls a number through the outbound trunk.
func TestLinphonec(t *testing.T) {
	t.Parallel()
	needCommand(t, "linphonec", "linphone-cli")
	l := startLab(t, "127.0.0.31", "127.0.0.32")
	exercise(t, l, startLinphonec(t, l.gw.SIPUDP))
}

// linphonercTemplate is the phone's config file: SIP over UDP only, no
// TCP or TLS listener, IPv4, no echo canceller, no video, and alice's
// account with the gateway as registrar. SIP and RTP ports of -1 are ports
// the system picks, so parallel tests never collide.
const linphonercTemplate = `[sip]
sip_port=-1
sip_tcp_port=0
sip_tls_port=0
use_ipv6=0
default_proxy=0

[rtp]
audio_rtp_port=-1

[sound]
echocancellation=0

[video]
enabled=0
capture=0
display=0

[proxy_0]
reg_proxy=<sip:%s;transport=udp>
reg_identity=<sip:%s@%s>
reg_expires=3600
reg_sendregister=1
publish=0

[auth_info_0]
username=%s
passwd=%s
realm=teamline
`

type linphonec struct {
	*sipptest.Proc
	dir   string
	stdin io.WriteCloser
}

// startLinphonec runs linphonec as alice's phone, auto-answering (-a),
// with the gateway at registrar. HOME is a temporary directory (linphonec
// keeps its databases under ~/.local/share/linphone), and sound goes
// through files: a 600 Hz tone is the microphone, and each call's received
// audio is recorded to a file (linphonec's "soundcard use files", "play"
// and "record").
func startLinphonec(t *testing.T, registrar string) *linphonec {
	t.Helper()
	p := &linphonec{dir: t.TempDir()}
	// Without this directory linphonec 5.1 cannot open its database and
	// never listens on its SIP port, so never registers.
	if err := os.MkdirAll(filepath.Join(p.dir, ".local", "share", "linphone"), 0o700); err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(registrar, ":")
	rc := fmt.Sprintf(linphonercTemplate, registrar, agent, host, agent, agentPassword)
	rcPath := filepath.Join(p.dir, "linphonerc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	tone := filepath.Join(p.dir, "tone.wav")
	writeToneWAV(t, tone, linphoneTone, 30000)

	// -d 6 -l: the full debug log (SIP messages included), shown only when
	// the test fails.
	cmd := exec.Command("linphonec", "-c", rcPath, "-a", "-d", "6", "-l", filepath.Join(p.dir, "linphonec.log"))
	cmd.Env = append(os.Environ(), "HOME="+p.dir)
	cmd.Dir = p.dir
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	p.Proc = sipptest.StartProc(t, "linphonec", cmd)
	t.Cleanup(func() {
		// "quit" unregisters and exits; a linphonec that does not is
		// killed.
		_, _ = io.WriteString(p.stdin, "quit\n")
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			p.Kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(p.dir, "linphonec.log"))
			t.Logf("linphonec output:\n%s\nlinphonec log (tail):\n%s", p.Out.String(), gwtest.Tail(string(log), 400))
		}
	})
	p.command(t, "soundcard use files")
	p.command(t, "play "+tone)
	return p
}

// command writes one line to linphonec's standard input.
func (p *linphonec) command(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("linphonec %q: %v", line, err)
	}
}

// waitOutput waits until linphonec has printed what at least n times.
func (p *linphonec) waitOutput(t *testing.T, what string, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("linphonec printing %q (#%d)", what, n), func() bool {
		select {
		case <-p.Done():
			t.Fatalf("linphonec exited:\n%s", p.Out.String())
		default:
		}
		return strings.Count(p.Out.String(), what) >= n
	})
}

func (p *linphonec) name() string      { return "linphonec" }
func (p *linphonec) userAgent() string { return "Linphone" }
func (p *linphonec) tone() float64     { return linphoneTone }

// prepare names the file the next call's received audio goes to.
func (p *linphonec) prepare(t *testing.T, call string) {
	t.Helper()
	p.command(t, "record "+filepath.Join(p.dir, call+".wav"))
}

func (p *linphonec) dial(t *testing.T, number string) {
	t.Helper()
	p.command(t, "call "+number)
	p.waitOutput(t, " connected.", 2)
}

func (p *linphonec) hangUp(t *testing.T) {
	t.Helper()
	p.command(t, "terminate")
	p.waitOutput(t, " ended (", 2)
}

func (p *linphonec) received(t *testing.T, call string) wav {
	t.Helper()
	p.waitOutput(t, " ended (", map[string]int{"inbound": 1, "outbound": 2}[call])
	path := filepath.Join(p.dir, call+".wav")
	waitFor(t, 10*time.Second, "linphonec's recording of the "+call+" call", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
	return readWAV(t, path, 1)
}

package softphones

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/gwtest"
	"github.com/teamline/teamline/internal/sipptest"
)

// TestBaresip: Debian 12's baresip registers as alice with digest
// authentication, auto-answers a carrier's call with audio both ways, and
// calls a number through the outbound trunk.
func TestBaresip(t *testing.T) {
	t.Parallel()
	needCommand(t, "baresip", "baresip-core")
	l := startLab(t, "127.0.0.21", "127.0.0.22")
	exercise(t, l, startBaresip(t, l.gw.SIPUDP))
}

// baresipConfig is the phone's config file: SIP and RTP on 127.0.0.1 (SIP
// on ports the system picks: baresip listens on UDP and TCP on the port
// given and on TLS on the port above it, which need not all be free), no
// sound card (a 440 Hz sine as the microphone, the speaker nowhere), only
// G.711, the sndfile filter dumping what it sends and receives to WAV
// files, and ctrl_tcp to be driven over TCP.
const baresipConfig = `poll_method		epoll
sip_listen		127.0.0.1:0
net_interface		127.0.0.1
call_local_timeout	120
call_max_calls		4
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
audio_player		aubridge,nowhere
audio_alert		aubridge,nowhere
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:%d
snd_path		%s
`

// baresipAccount is alice's account line: the gateway is her registrar,
// and calls are answered at once.
const baresipAccount = "<sip:%s@%s>;auth_pass=%s;answermode=auto\n"

type baresip struct {
	*sipptest.Proc
	dir  string
	ctrl net.Conn

	mu     sync.Mutex
	events []map[string]any // events and responses from ctrl_tcp
	token  int
}

// startBaresip runs baresip with its own config directory (-f; HOME is
// that directory too, so nothing of the user's is read or written) as
// alice's phone, registering with the gateway at registrar.
func startBaresip(t *testing.T, registrar string) *baresip {
	t.Helper()
	b := &baresip{dir: t.TempDir()}
	ctrlPort := freeTCPPort(t)
	files := map[string]string{
		"config":   fmt.Sprintf(baresipConfig, ctrlPort, b.dir),
		"accounts": fmt.Sprintf(baresipAccount, agent, registrar, agentPassword),
		"contacts": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// -v: debug output, -s: SIP trace; both only shown when the test fails.
	cmd := exec.Command("baresip", "-f", b.dir, "-v", "-s")
	cmd.Env = append(os.Environ(), "HOME="+b.dir)
	b.Proc = sipptest.StartProc(t, "baresip", cmd)
	t.Cleanup(func() {
		if b.ctrl != nil {
			_ = b.ctrl.Close()
		}
		b.Kill()
		if t.Failed() {
			t.Logf("baresip output (tail):\n%s\nctrl_tcp events: %v", gwtest.Tail(b.Out.String(), 300), b.eventList())
		}
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort))
	waitFor(t, 20*time.Second, "baresip's ctrl_tcp listening on "+addr, func() bool {
		select {
		case <-b.Done():
			t.Fatalf("baresip exited:\n%s", b.Out.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		b.ctrl = c
		return true
	})
	go b.readEvents(bufio.NewReader(b.ctrl))
	return b
}

// readEvents reads ctrl_tcp's netstrings ("LEN:JSON,") until the
// connection closes.
func (b *baresip) readEvents(r *bufio.Reader) {
	for {
		head, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		msg := make([]byte, n+1) // the JSON and the trailing comma
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var ev map[string]any
		if json.Unmarshal(msg[:n], &ev) == nil {
			b.mu.Lock()
			b.events = append(b.events, ev)
			b.mu.Unlock()
		}
	}
}

func (b *baresip) eventList() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// command sends one command over ctrl_tcp and waits for baresip's answer,
// failing the test unless it is ok.
func (b *baresip) command(t *testing.T, cmd, params string) {
	t.Helper()
	b.mu.Lock()
	b.token++
	token := strconv.Itoa(b.token)
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]string{"command": cmd, "params": params, "token": token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(msg), msg); err != nil {
		t.Fatalf("baresip ctrl_tcp: %v", err)
	}
	var answer map[string]any
	waitFor(t, 10*time.Second, "baresip's answer to "+cmd, func() bool {
		for _, ev := range b.eventList() {
			if ev["response"] == true && ev["token"] == token {
				answer = ev
				return true
			}
		}
		return false
	})
	if answer["ok"] != true {
		t.Fatalf("baresip: %s %s: %v", cmd, params, answer)
	}
}

// waitEvent waits for a ctrl_tcp event of type typ (CALL_ESTABLISHED,
// CALL_CLOSED, ...), the n-th one (from 1).
func (b *baresip) waitEvent(t *testing.T, typ string, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("baresip event %s #%d", typ, n), func() bool {
		seen := 0
		for _, ev := range b.eventList() {
			if ev["event"] == true && ev["type"] == typ {
				seen++
			}
		}
		return seen >= n
	})
}

func (b *baresip) name() string      { return "baresip" }
func (b *baresip) userAgent() string { return "baresip" }
func (b *baresip) tone() float64     { return baresipTone }

func (b *baresip) prepare(*testing.T, string) {}

func (b *baresip) dial(t *testing.T, number string) {
	t.Helper()
	b.command(t, "dial", number)
	b.waitEvent(t, "CALL_ESTABLISHED", 2)
}

func (b *baresip) hangUp(t *testing.T) {
	t.Helper()
	b.command(t, "hangup", "")
	b.waitEvent(t, "CALL_CLOSED", 2)
}

// received is the sndfile filter's dump of the call's decoded audio; the
// dumps are named by the time they started, so the first is the inbound
// call's and the second the outbound's.
func (b *baresip) received(t *testing.T, call string) wav {
	t.Helper()
	i := map[string]int{"inbound": 0, "outbound": 1}[call]
	b.waitEvent(t, "CALL_CLOSED", i+1)
	var path string
	waitFor(t, 10*time.Second, "baresip's dump of the "+call+" call", func() bool {
		dumps, err := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
		if err != nil || len(dumps) <= i {
			return false
		}
		slices.Sort(dumps)
		path = dumps[i]
		return true
	})
	return readWAV(t, path, 1)
}

// freeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

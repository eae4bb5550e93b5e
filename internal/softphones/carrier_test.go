package softphones

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/internal/sipptest"
)

// The carriers are SIPp processes: one calls in from the carrier's address
// (sipptest's trunk_play.xml, playing carrierTone), one answers the calls
// the gateway sends out through its trunk (testdata/trunk_answer.xml,
// playing trunkTone).

// sippRun is one SIPp process.
type sippRun struct{ *sipptest.Run }

// startSIPp runs SIPp with args for one call of at most 60 s; it is killed
// when the test ends, and its logs are printed if the test failed.
func startSIPp(t *testing.T, name string, args ...string) *sippRun {
	t.Helper()
	s := &sippRun{sipptest.Start(t, name, 60*time.Second, args...)}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("%s (SIPp):\n%s", name, s.Report())
		}
	})
	return s
}

// wait waits for SIPp to finish its scenario and fails the test unless it
// did so without error (exit 0).
func (s *sippRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.Done():
		if s.Err != nil {
			t.Fatalf("%s: SIPp: %v", s.Name, s.Err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: SIPp still in its scenario after 60s", s.Name)
	}
}

// trunkAnswer is the carrier behind the outbound trunk.
type trunkAnswer struct {
	*sippRun
	addr string // where it listens, the trunk's proxy
}

// startTrunkAnswer runs the carrier that answers one outbound call on a
// free UDP port of ip, playing the capture pcap once answered.
func startTrunkAnswer(t *testing.T, ip, pcap string) *trunkAnswer {
	t.Helper()
	scenario, err := filepath.Abs(filepath.Join("testdata", "trunk_answer.xml"))
	if err != nil {
		t.Fatal(err)
	}
	port := sipptest.FreeUDPPort(t, ip)
	s := startSIPp(t, "the outbound carrier", "-sf", scenario, "-key", "trunk_pcap", pcap,
		"-i", ip, "-p", strconv.Itoa(port), "-mp", strconv.Itoa(sipptest.FreeUDPPort(t, ip)))
	return &trunkAnswer{sippRun: s, addr: net.JoinHostPort(ip, strconv.Itoa(port))}
}

// invite returns the first INVITE the carrier got (start line and headers)
// once it has one.
func (a *trunkAnswer) invite(t *testing.T) string {
	t.Helper()
	var inv string
	waitFor(t, 30*time.Second, "an INVITE at the outbound carrier", func() bool {
		_, after, ok := strings.Cut(a.Messages(), "\nINVITE sip:")
		if !ok {
			return false
		}
		inv, _, ok = strings.Cut("INVITE sip:"+after, "\n\n")
		return ok
	})
	return inv
}

// fromUser is the user part of the From header of a message's headers.
func fromUser(t *testing.T, headers string) string {
	t.Helper()
	for line := range strings.SplitSeq(headers, "\n") {
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || !strings.EqualFold(name, "From") && !strings.EqualFold(name, "f") {
			continue
		}
		_, uri, ok := strings.Cut(value, "sip:")
		if !ok {
			break
		}
		user, _, _ := strings.Cut(uri, "@")
		return user
	}
	t.Fatalf("no From user in:\n%s", headers)
	return ""
}

// callIn has the carrier at l.carrierIP call alice's personal number
// through the gateway (trunk_play.xml): it plays carrierTone from the
// answer on and hangs up 3 s later. It returns once the scenario is done.
func (l *lab) callIn(t *testing.T) {
	t.Helper()
	pcap := writeTonePcap(t, "carrier.pcap", carrierTone, 3000)
	s := startSIPp(t, "the inbound carrier", "-sf", sipptest.Scenario("trunk_play.xml"), "-key", "trunk_pcap", pcap,
		"-i", l.carrierIP, "-p", strconv.Itoa(sipptest.FreeUDPPort(t, l.carrierIP)),
		"-mp", strconv.Itoa(sipptest.FreeUDPPort(t, l.carrierIP)), l.gw.SIPUDP)
	s.wait(t)
}

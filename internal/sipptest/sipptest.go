// Package sipptest is what the tests that drive SIPp share: the scenarios
// of the team's phones and the carrier (scenarios/), captures of RTP for
// SIPp to play (an RFC 4733 key press, audio), and free ports on loopback.
// Only tests import it.
package sipptest

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"
)

// Scenario is the path of the SIPp scenario file name (e.g.
// "agent_answer.xml"), whichever package's test asks.
func Scenario(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "scenarios", name)
}

// FreeUDPPort returns a UDP port that was free on ip a moment ago.
func FreeUDPPort(t testing.TB, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

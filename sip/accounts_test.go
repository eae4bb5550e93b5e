package sip_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/sip"
)

// accountAlertLine is the warning the gateway logs about an account.
type accountAlertLine struct {
	Level, Msg, Account string
	Failures, Sources   int
}

// accountAlerts returns the account warnings in gw's log, in order.
func accountAlerts(t *testing.T, gw *gateway) []accountAlertLine {
	t.Helper()
	var out []accountAlertLine
	for _, l := range strings.Split(gw.logs.String(), "\n") {
		var a accountAlertLine
		if json.Unmarshal([]byte(l), &a) == nil && a.Msg == "sip account failing authentication repeatedly" {
			out = append(out, a)
		}
	}
	return out
}

// counterValue reads an unlabelled counter from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A password guessed from several addresses, each staying under the
// per-address block, shows per account: one warning per window naming the
// account, the failures and the addresses, and a counted alert. Names no
// user has count too (a dictionary attack), long names are cut in the log,
// and nothing is blocked: alice's own phone still registers.
func TestAccountFailureAlert(t *testing.T) {
	gw := startGatewayWith(t, gatewayTeam, func(b *sip.Backend) {
		b.Trunks = []sip.Trunk{{Name: "carrier", Proxy: "127.0.0.1:9", Inbound: trunkSource}}
		b.Registrar.MaxAuthFailures = 3 // per address: the guessers stay below it
		b.Registrar.AccountFailureAlert = 5
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(gw.Collectors()...)
	var guessers []*phone
	for i := range 10 {
		guessers = append(guessers, newPhone(t, fmt.Sprintf("127.0.0.%d", 5+i)))
	}
	// Each address fails at most twice: the guard never blocks one.
	guess := func(at []int, user string) {
		t.Helper()
		for i, g := range at {
			if res := guessers[g].register(gw, user, fmt.Sprintf("guess-%d", i), 300); res.StatusCode != 403 {
				t.Fatalf("guess %d for %s: %d, want 403", i, user, res.StatusCode)
			}
		}
	}
	guess([]int{0, 1, 2, 0, 1, 2}, "alice") // the fifth crosses; the sixth is not told again
	guess([]int{3, 4, 3, 4}, "bob")         // below the threshold
	long := strings.Repeat("x", 100)
	guess([]int{5, 6, 7, 8, 9}, long)
	guess([]int{5, 6, 7, 8, 9}, "admin") // nobody here: counted all the same
	got := accountAlerts(t, gw)
	want := []accountAlertLine{
		{Level: "WARN", Msg: "sip account failing authentication repeatedly", Account: "alice", Failures: 5, Sources: 3},
		{Level: "WARN", Msg: "sip account failing authentication repeatedly", Account: strings.Repeat("x", 32) + "...", Failures: 5, Sources: 5},
		{Level: "WARN", Msg: "sip account failing authentication repeatedly", Account: "admin", Failures: 5, Sources: 5},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("account warnings:\n got %+v\nwant %+v", got, want)
	}
	if n := counterValue(t, reg, "teamline_sip_auth_account_alerts_total"); n != 3 {
		t.Errorf("teamline_sip_auth_account_alerts_total = %v, want 3", n)
	}
	if n := counterValue(t, reg, "teamline_sip_auth_blocks_total"); n != 0 {
		t.Errorf("%v addresses blocked, want none (each guessed below max_auth_failures)", n)
	}
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
}

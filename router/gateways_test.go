package router_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// Two gateway processes share one MariaDB: the rotation's position lives
// in the database, so together they still split 1,000 new leads exactly
// 3/2/1 (R-RULE-5).

const splitRule = `
rules:
  - {name: split, active: true, criteria: {source: [inbound call]}, agents: [{user: alice, leads_per_round: 3},
     {user: bob, leads_per_round: 2}, {user: carol, leads_per_round: 1}]}
`

const (
	envGatewayDSN = "TEAMLINE_TEST_GATEWAY_DSN"
	envGatewayN   = "TEAMLINE_TEST_GATEWAY_N"
	// envGatewayGo names a file the processes wait for, so that both
	// route at the same time rather than one after the other.
	envGatewayGo = "TEAMLINE_TEST_GATEWAY_GO"
)

func TestRotationTwoGatewayProcesses(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	st := storetest.OpenDSN(t, store.DriverMySQL, dsn)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, svc := newRouter(t, st, team+splitRule, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := filepath.Join(t.TempDir(), "go")
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i := range 2 {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGatewayProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), envGatewayDSN+"="+dsn, envGatewayN+"="+strconv.Itoa(i), envGatewayGo+"="+start)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	time.Sleep(time.Second) // both processes up and waiting
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("gateway process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if got := agentCounts(t, svc); got != "alice=500 bob=333 carol=167" {
		t.Errorf("leads per agent after two gateways routed 500 callers each: %s", got)
	}
}

// TestGatewayProcess is one gateway of TestRotationTwoGatewayProcesses:
// it routes 500 new callers, four at a time, against the shared database.
func TestGatewayProcess(t *testing.T) {
	dsn := os.Getenv(envGatewayDSN)
	if dsn == "" {
		t.Skip("run by TestRotationTwoGatewayProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv(envGatewayN))
	st, err := store.Open(context.Background(), store.DriverMySQL, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(directory.NewService(st, phones), st)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv(envGatewayGo)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start signal")
		}
	}
	var wg sync.WaitGroup
	fail := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 500; i += 4 {
				from := fmt.Sprintf("+173755%d%04d", 7+n, i)
				d, err := r.Route(context.Background(), router.Request{From: from, To: "+15125550100"})
				if err != nil {
					fail <- err
					return
				}
				if d.Mode != router.ModeRotation || !d.LeadCreated {
					fail <- fmt.Errorf("%s: %s %v\n%s", from, d.Mode, d.LeadCreated, d.Explain())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
}

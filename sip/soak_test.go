package sip_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/teamline/teamline/billing"
)

// TestThousandCalls places 1,000 answered calls, four at a time; the
// gateway's cleanup then checks that no goroutine and no media port is left
// (goleak in startServer, PortsInUse in startGatewayWith).
func TestThousandCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 calls; run without -short")
	}
	gw := startGateway(t, gatewayTeam, "")
	registered(t, gw, "alice", "alice-pw-1", "127.0.0.1")
	const calls, workers = 1000, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for w := range workers {
		trunk := newPhone(t, "127.0.0.2")
		wg.Go(func() {
			for i := w; i < calls; i += workers {
				sess, err := trunk.call(gw, "+15125550110", "+17375559999", nil)
				if err == nil {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err = sess.Bye(ctx)
					cancel()
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed; first: %v", len(failures), calls, failures[0])
	}
	if err := gw.stop(); err != nil {
		t.Fatal(err)
	}
	var answered int
	var after int64
	for {
		rs, err := gw.store.ListCallRecords(context.Background(), billing.CallFilter{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			if r.Result == billing.ResultAnswered && !r.End.IsZero() {
				answered++
			}
		}
		after = rs[len(rs)-1].ID
	}
	if answered != calls {
		t.Errorf("%d answered and closed records, want %d", answered, calls)
	}
}

package router_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/router"
	"github.com/teamline/teamline/store/storetest"
)

// BenchmarkRoute measures one routing decision in an account of 100,000
// leads and 50 rules, on each database, through the read cache the
// gateway uses (settings, numbers and rules in memory):
//
//   - known: a known lead calls the buyer number (lead lookup, its agent);
//   - new: an unknown caller whose only matching rule is the 50th (49 rules
//     tried, a lead created and the rotation advanced in one transaction).
//
// Besides ns/op it reports the p50 and p99 latency of the decisions.
//
//	TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/test' go test -run '^$' -bench Route -benchtime 2000x ./router/
//
// (-run x would also run TestRotationExact, whose name has an x.)
func BenchmarkRoute(b *testing.B) {
	const leads, agents, rules = 100_000, 20, 50
	var file strings.Builder
	file.WriteString("settings:\n  time_zone: America/New_York\nusers:\n  - {username: boss, name: Boss, role: primary_manager}\n")
	for i := range agents {
		fmt.Fprintf(&file, "  - {username: agent%d, name: Agent %d, role: agent}\n", i, i)
	}
	file.WriteString("numbers:\n  - {number: \"+15125550100\", kind: role, role: buyer}\nrules:\n")
	for i := range rules - 1 {
		fmt.Fprintf(&file, "  - {name: rule%d, active: true, criteria: {city: [City %d], tag: [t%d]}, windows: [{days: [mon, tue, wed], start: \"08:00\", end: \"18:00\"}], agents: [{user: agent%d}, {user: agent%d, leads_per_round: 2}]}\n",
			i, i, i, i%agents, (i+1)%agents)
	}
	fmt.Fprintf(&file, "  - {name: inbound, active: true, criteria: {source: [inbound call]}, agents: [{user: agent0, leads_per_round: 3}, {user: agent1, leads_per_round: 2}, {user: agent2}]}\n")

	for _, driver := range storetest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			st := storetest.Open(b, driver)
			_, svc := newRouter(b, st, file.String(), time.Time{})
			seedLeads(b, st, leads, agents)
			r := router.New(directory.NewReadCache(svc, time.Minute), st)
			ctx := context.Background()
			b.Run("known", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				i := 0
				for b.Loop() {
					from := fmt.Sprintf("+1737%07d", (i*7919)%leads)
					i++
					start := time.Now()
					d, err := r.Route(ctx, router.Request{From: from, To: "+15125550100"})
					lat = append(lat, time.Since(start))
					if err != nil || d.Mode != router.ModeDirect {
						b.Fatal(err, d.Explain())
					}
				}
				reportLatency(b, lat)
			})
			b.Run("new", func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				i := 0
				for b.Loop() {
					from := fmt.Sprintf("+1512%07d", 3000000+i)
					i++
					start := time.Now()
					d, err := r.Route(ctx, router.Request{From: from, To: "+15125550100"})
					lat = append(lat, time.Since(start))
					if err != nil || !d.LeadCreated || d.Rule == nil || d.Rule.Name != "inbound" {
						b.Fatal(err, d.Explain())
					}
				}
				reportLatency(b, lat)
			})
		})
	}
}

// seedLeads stores n leads, each with one phone and a buyer agent, in
// transactions of 2,000.
func seedLeads(b *testing.B, st interface {
	InTx(context.Context, func(directory.Queries) error) error
}, n, agents int) {
	b.Helper()
	now := time.Now()
	for start := 0; start < n; start += 2000 {
		err := st.InTx(context.Background(), func(q directory.Queries) error {
			for i := start; i < min(start+2000, n); i++ {
				l := directory.Lead{Phones: []string{fmt.Sprintf("+1737%07d", i)}, Name: fmt.Sprintf("Lead %d", i),
					Source: "web", City: "Austin", Agents: map[string]string{"buyer": fmt.Sprintf("agent%d", i%agents)},
					CreatedAt: now, UpdatedAt: now}
				if err := q.CreateLead(context.Background(), &l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

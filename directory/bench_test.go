package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

// bigFile is a directory of users agents and leads leads, in the shape of
// the load-test directories.
func bigFile(users, leads int) string {
	var b strings.Builder
	b.WriteString("users:\n  - {username: boss, name: Boss, role: primary_manager}\n")
	for i := range users {
		fmt.Fprintf(&b, "  - {username: agent%d, name: Agent %d, role: agent, sip_password: secret-%06d}\n", i, i, i)
	}
	b.WriteString("numbers:\n  - {number: \"+15125550100\", kind: role, role: buyer}\nleads:\n")
	for i := range leads {
		fmt.Fprintf(&b, "  - {phones: [\"+1737%07d\"], name: Lead %d, source: web, tags: [t%d], city: Austin, agents: {buyer: agent%d}}\n", 5550000+i, i, i%10, i%users)
	}
	return b.String()
}

// BenchmarkApply measures applying a directory of 100 agents and 1,000
// leads to an empty database, and re-applying it unchanged.
func BenchmarkApply(b *testing.B) {
	file := bigFile(100, 1000)
	for _, driver := range storetest.Drivers() {
		b.Run(driver+"/create", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				svc, _ := newService(b, driver)
				f, _ := directory.ParseFile(strings.NewReader(file))
				b.StartTimer()
				if _, err := svc.Apply(context.Background(), f, false); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(driver+"/unchanged", func(b *testing.B) {
			svc, _ := newService(b, driver)
			f, _ := directory.ParseFile(strings.NewReader(file))
			if _, err := svc.Apply(context.Background(), f, false); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				f, _ := directory.ParseFile(strings.NewReader(file))
				plan, err := svc.Apply(context.Background(), f, false)
				if err != nil || len(plan) != 0 {
					b.Fatal(err, plan)
				}
			}
		})
	}
}

// BenchmarkFindLeadByPhone measures the caller-to-lead lookup every inbound
// call makes (R-LEAD-3) in a directory of 1,000 leads.
func BenchmarkFindLeadByPhone(b *testing.B) {
	for _, driver := range storetest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			svc, _ := newService(b, driver)
			f, _ := directory.ParseFile(strings.NewReader(bigFile(10, 1000)))
			if _, err := svc.Apply(context.Background(), f, false); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if _, err := svc.FindLeadByPhone(context.Background(), fmt.Sprintf("+1737%07d", 5550000+i%1000)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

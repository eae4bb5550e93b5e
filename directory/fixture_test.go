package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// teamFile is a directory of 5 users, 6 numbers, 50 leads and 4 rules plus
// the catch-all rule, written the way a manager would write it (numbers in
// mixed forms, "listing" for seller).
func teamFile() string {
	var b strings.Builder
	b.WriteString(`settings:
  time_zone: America/Chicago
  ring_timeout_seconds: 25
  press_one_to_claim: true
  default_number: "(512) 555-0100"
users:
  - username: maria
    name: Maria Lopez
    role: primary_manager
    email: maria@example.com
  - username: ken
    name: Ken Adams
    role: manager
  - username: alice
    name: Alice Smith
    role: agent
    sip_password: alice-secret-1
    cell_phone: "(512) 555-0181"
    dialer_access: true
    default_number: "+1 512 555 0110"
  - username: bob
    name: Bob Jones
    role: agent
    sip_password: bob-secret-22
    dialer_access: true
  - username: carol
    name: Carol White
    role: agent
    sip_password: carol-secret-333
numbers:
  - number: "(512) 555-0100"
    kind: role
    role: buyer
    label: Buyer line
  - number: "15125550101"
    kind: role
    role: listing
  - number: "+1 512 555 0102"
    kind: role
    role: lender
  - number: "+1 512 555 0110"
    kind: personal
    owner: alice
  - number: "+1 512 555 0111"
    kind: personal
    owner: bob
  - number: "+1 512 555 0199"
    kind: catch_all
leads:
`)
	agents := []string{"alice", "bob", "carol"}
	for i := range 50 {
		fmt.Fprintf(&b, "  - phones: [\"+1 737 555 %04d\"]\n    name: Lead %02d\n    source: zillow\n    tags: [hot, \"batch-%d\"]\n    type: buyer\n    price_min: %d\n    price_max: %d\n    city: Austin\n    postal_code: \"787%02d\"\n",
			i, i, i%3, 200000+i*1000, 400000+i*1000, i)
		if i%2 == 0 {
			fmt.Fprintf(&b, "    agents: {buyer: %s}\n", agents[i%3])
		}
	}
	b.WriteString(`rules:
  - name: Austin buyers
    active: true
    criteria: {city: [Austin, Round Rock], lead_type: [buyer]}
    windows: [{days: [mon, tue, wed, thu, fri], start: "08:00", end: "18:00"}]
    distribution: claim
    claim_timeout: 20
    agents: [{user: alice, leads_per_round: 3}, {user: bob, leads_per_round: 2}, {user: carol, leads_per_round: 1}]
    lenders: [{user: ken, leads_per_round: 1}]
  - name: Luxury
    active: true
    criteria: {price_min: 1000000}
    distribution: instant_call
    agents: [{user: alice, leads_per_round: 1}]
  - name: Zillow sellers
    active: false
    criteria: {source: [zillow], lead_type: [seller]}
    agents: [{user: bob, leads_per_round: 1}]
  - name: Night owls
    active: true
    criteria: {tag: [night]}
    windows: [{start: "21:00", end: "08:00"}]
    agents: [{user: carol, leads_per_round: 1}]
  - name: Everyone else
    catch_all: true
    agents: [{user: alice, leads_per_round: 1}, {user: bob, leads_per_round: 1}]
`)
	return b.String()
}

// newService returns a directory service over a fresh store.
func newService(t testing.TB, driver string) (*directory.Service, *store.Store) {
	t.Helper()
	st := storetest.Open(t, driver)
	phones, err := directory.NewPhones("US")
	if err != nil {
		t.Fatal(err)
	}
	return directory.NewService(st, phones), st
}

func mustApply(t *testing.T, svc *directory.Service, file string, dry bool) directory.Plan {
	t.Helper()
	f, err := directory.ParseFile(strings.NewReader(file))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	plan, err := svc.Apply(context.Background(), f, dry)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return plan
}

func count(p directory.Plan, action, object string) int {
	n := 0
	for _, c := range p {
		if c.Action == action && (object == "" || c.Object == object) {
			n++
		}
	}
	return n
}

// withTeam runs fn once per test database, on a directory built from
// teamFile.
func withTeam(t *testing.T, fn func(t *testing.T, ctx context.Context, svc *directory.Service)) {
	t.Helper()
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			svc, _ := newService(t, driver)
			mustApply(t, svc, teamFile(), false)
			fn(t, context.Background(), svc)
		})
	}
}

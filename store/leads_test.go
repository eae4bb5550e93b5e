package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func fullLead() directory.Lead {
	return directory.Lead{
		Phones:       []string{"+15550000003", "+15550000001", "+15550000002"}, // order kept
		Name:         "Jane Doe",
		Email:        "jane@example.com",
		Source:       "zillow",
		Tags:         []string{"hot", "2025", "hot-again"},
		Type:         directory.LeadBoth,
		PriceMin:     250000,
		PriceMax:     9007199254740993, // beyond float64 precision
		City:         "Austin",
		County:       "Travis",
		Neighborhood: "Zilker",
		PostalCode:   "78704",
		PropertyType: "condo",
		Site:         "example.com",
		Region:       "TX",
		Agents:       map[string]string{"buyer": "alice", "seller": "bob", "lender": "alice"},
	}
}

func TestLeadRoundTrip(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		user(t, s, "carol")
		l := fullLead()
		must(t, s.CreateLead(ctx, &l))
		if l.ID == 0 || l.CreatedAt.IsZero() {
			t.Fatalf("CreateLead set %+v", l)
		}
		same(t, "GetLead", get(s.GetLead(ctx, l.ID))(t), l)
		same(t, "GetLeadByPhone", get(s.GetLeadByPhone(ctx, "+15550000002"))(t), l)
		same(t, "ListLeads", get(s.ListLeads(ctx, directory.LeadFilter{}))(t), []directory.Lead{l})

		// Replace every field and every collection.
		up := directory.Lead{ID: l.ID, Phones: []string{"+15550000002", "+15550000009"}, Name: "J",
			Tags: []string{"cold"}, Type: directory.LeadSeller, PriceMin: 1,
			Agents: map[string]string{"seller": "carol"}, CreatedAt: l.CreatedAt}
		must(t, s.UpdateLead(ctx, &up))
		same(t, "updated lead", get(s.GetLead(ctx, l.ID))(t), up)
		_, err := s.GetLeadByPhone(ctx, "+15550000001")
		isErr(t, err, directory.ErrNotFound, "+15550000001")

		// Empty collections read back as nil.
		empty := directory.Lead{ID: l.ID, CreatedAt: l.CreatedAt}
		must(t, s.UpdateLead(ctx, &empty))
		same(t, "emptied lead", get(s.GetLead(ctx, l.ID))(t), empty)

		must(t, s.DeleteLead(ctx, l.ID))
		_, err = s.GetLead(ctx, l.ID)
		isErr(t, err, directory.ErrNotFound)
		isErr(t, s.DeleteLead(ctx, l.ID), directory.ErrNotFound)
		var n int
		must(t, s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM lead_phones").Scan(&n))
		same(t, "phones left", n, 0)
	})
}

func TestLeadConflicts(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		a := lead(t, s, "A", "+15550000001", "+15550000002")
		b := directory.Lead{Name: "B", Phones: []string{"+15550000003", "+15550000002"}}
		isErr(t, s.CreateLead(ctx, &b), directory.ErrConflict, "+15550000002", fmt.Sprintf("lead %d", a.ID))
		twice := directory.Lead{Name: "T", Phones: []string{"+15550000004", "+15550000004"}}
		isErr(t, s.CreateLead(ctx, &twice), directory.ErrConflict, "+15550000004", "twice")
		if n := get(s.CountLeads(ctx))(t); n != 1 {
			t.Errorf("CountLeads = %d after failed creates", n)
		}

		c := lead(t, s, "C", "+15550000005")
		c.Phones = []string{"+15550000001"}
		isErr(t, s.UpdateLead(ctx, &c), directory.ErrConflict, "+15550000001")
		same(t, "phones after failed update", get(s.GetLead(ctx, c.ID))(t).Phones, []string{"+15550000005"})

		ghost := directory.Lead{Name: "G", Phones: []string{"+15550000006"}, Agents: map[string]string{"buyer": "ghost"}}
		isErr(t, s.CreateLead(ctx, &ghost), directory.ErrNotFound, `"ghost"`)
		if _, err := s.GetLeadByPhone(ctx, "+15550000006"); err == nil {
			t.Error("lead with unknown agent was half created")
		}
		missing := directory.Lead{ID: 999}
		isErr(t, s.UpdateLead(ctx, &missing), directory.ErrNotFound, "999")
	})
}

func TestDeleteUserAssignedToLeads(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		alice := user(t, s, "alice")
		user(t, s, "bob")
		l := directory.Lead{Name: "L", Phones: []string{"+15550000001"},
			Agents: map[string]string{"buyer": "alice", "seller": "bob"}}
		must(t, s.CreateLead(ctx, &l))
		must(t, s.DeleteUser(ctx, alice.ID))
		same(t, "agents", get(s.GetLead(ctx, l.ID))(t).Agents, map[string]string{"seller": "bob"})
	})
}

func TestListLeads(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		var all []directory.Lead
		for i, name := range []string{"Ann Smith", "100% Real", "under_score", "back\\slash", "SMITH & Co", "Ångström", "plain"} {
			l := directory.Lead{Name: name, Phones: []string{fmt.Sprintf("+1555000%04d", i)}}
			if i%2 == 0 {
				l.Agents = map[string]string{"buyer": "alice"}
			}
			must(t, s.CreateLead(ctx, &l))
			all = append(all, l)
		}
		pick := func(idx ...int) []directory.Lead {
			out := []directory.Lead{}
			for _, i := range idx {
				out = append(out, all[i])
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    directory.LeadFilter
			want []directory.Lead
		}{
			{"all", directory.LeadFilter{}, all},
			{"first page", directory.LeadFilter{Page: directory.Page{Limit: 3}}, pick(0, 1, 2)},
			{"second page", directory.LeadFilter{Page: directory.Page{After: all[2].ID, Limit: 3}}, pick(3, 4, 5)},
			{"last page", directory.LeadFilter{Page: directory.Page{After: all[5].ID, Limit: 3}}, pick(6)},
			{"past the end", directory.LeadFilter{Page: directory.Page{After: all[6].ID}}, pick()},
			{"phone", directory.LeadFilter{Phone: all[3].Phones[0]}, pick(3)},
			{"phone exact", directory.LeadFilter{Phone: all[3].Phones[0] + " "}, pick()},
			{"unknown phone", directory.LeadFilter{Phone: "+19999999999"}, pick()},
			{"agent", directory.LeadFilter{Agent: "alice"}, pick(0, 2, 4, 6)},
			{"agent page", directory.LeadFilter{Agent: "alice", Page: directory.Page{After: all[0].ID, Limit: 2}}, pick(2, 4)},
			{"agent none", directory.LeadFilter{Agent: "bob"}, pick()},
			{"unknown agent", directory.LeadFilter{Agent: "ghost"}, pick()},
			{"query ignores case", directory.LeadFilter{Query: "smith"}, pick(0, 4)},
			{"query unicode case", directory.LeadFilter{Query: "åNGS"}, pick(5)},
			{"percent is literal", directory.LeadFilter{Query: "%"}, pick(1)},
			{"percent in the middle", directory.LeadFilter{Query: "0% r"}, pick(1)},
			{"underscore is literal", directory.LeadFilter{Query: "_"}, pick(2)},
			{"backslash is literal", directory.LeadFilter{Query: "k\\s"}, pick(3)},
			{"escape char is literal", directory.LeadFilter{Query: "!"}, pick()},
			{"query and agent", directory.LeadFilter{Query: "smith", Agent: "alice"}, pick(0, 4)},
			{"query and phone", directory.LeadFilter{Query: "smith", Phone: all[1].Phones[0]}, pick()},
		} {
			same(t, tc.name, get(s.ListLeads(ctx, tc.f))(t), tc.want)
		}
		if n := get(s.CountLeads(ctx))(t); n != int64(len(all)) {
			t.Errorf("CountLeads = %d", n)
		}
	})
}

func TestListManyLeads(t *testing.T) {
	// More leads than one IN (...) batch.
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		const n = 1203
		must(t, s.InTx(ctx, func(q directory.Queries) error {
			for i := range n {
				l := directory.Lead{Name: fmt.Sprint(i), Phones: []string{fmt.Sprintf("+1555%07d", i)},
					Tags: []string{"t"}, Agents: map[string]string{"buyer": "alice"}}
				if err := q.CreateLead(ctx, &l); err != nil {
					return err
				}
			}
			return nil
		}))
		ls := get(s.ListLeads(ctx, directory.LeadFilter{}))(t)
		if len(ls) != n {
			t.Fatalf("%d leads", len(ls))
		}
		for i, l := range ls {
			if l.Name != fmt.Sprint(i) || len(l.Phones) != 1 || l.Phones[0] != fmt.Sprintf("+1555%07d", i) ||
				len(l.Tags) != 1 || l.Agents["buyer"] != "alice" {
				t.Fatalf("lead %d: %+v", i, l)
			}
		}
	})
}

func TestConcurrentLeadCreates(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				l := directory.Lead{Name: fmt.Sprint("lead ", i), Phones: []string{fmt.Sprintf("+1555000%04d", i)},
					Tags: []string{"a", "b"}, Agents: map[string]string{"buyer": "alice"}}
				errs <- s.CreateLead(ctx, &l)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		if got := get(s.CountLeads(ctx))(t); got != n {
			t.Errorf("CountLeads = %d, want %d", got, n)
		}
	})
}

func TestInTx(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		boom := fmt.Errorf("boom")
		err := s.InTx(ctx, func(q directory.Queries) error {
			u := directory.User{Username: "alice", Role: directory.RoleAgent}
			must(t, q.CreateUser(ctx, &u))
			get(q.GetUser(ctx, u.ID))(t) // visible inside
			return boom
		})
		if err != boom {
			t.Fatalf("InTx = %v", err)
		}
		_, err = s.GetUserByUsername(ctx, "alice")
		isErr(t, err, directory.ErrNotFound)

		must(t, s.InTx(ctx, func(q directory.Queries) error {
			u := directory.User{Username: "alice", Role: directory.RoleAgent}
			if err := q.CreateUser(ctx, &u); err != nil {
				return err
			}
			l := directory.Lead{Name: "L", Phones: []string{"+15550000001"}, Agents: map[string]string{"buyer": "alice"}}
			return q.CreateLead(ctx, &l)
		}))
		same(t, "agent", get(s.GetLeadByPhone(ctx, "+15550000001"))(t).Agents["buyer"], "alice")

		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic swallowed")
				}
			}()
			_ = s.InTx(ctx, func(q directory.Queries) error {
				u := directory.User{Username: "panic", Role: directory.RoleAgent}
				must(t, q.CreateUser(ctx, &u))
				panic("boom")
			})
		}()
		_, err = s.GetUserByUsername(ctx, "panic")
		isErr(t, err, directory.ErrNotFound)
	})
}

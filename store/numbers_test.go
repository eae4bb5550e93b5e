package store_test

import (
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

func TestNumberRoundTrip(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		n := directory.Number{E164: "+15551230001", Kind: directory.KindPersonal, Role: "seller",
			Owner: "alice", Label: "Alice's line", Trunk: "twilio-east"}
		must(t, s.CreateNumber(ctx, &n))
		if n.ID == 0 || n.CreatedAt.IsZero() {
			t.Fatalf("CreateNumber set %+v", n)
		}
		same(t, "GetNumber", get(s.GetNumber(ctx, n.ID))(t), n)
		same(t, "GetNumberByE164", get(s.GetNumberByE164(ctx, n.E164))(t), n)

		up := directory.Number{ID: n.ID, E164: "+15551230002", Kind: directory.KindRole, Role: "buyer",
			Label: "Buyers", CreatedAt: n.CreatedAt}
		must(t, s.UpdateNumber(ctx, &up))
		same(t, "updated number", get(s.GetNumber(ctx, n.ID))(t), up)
		_, err := s.GetNumberByE164(ctx, "+15551230001")
		isErr(t, err, directory.ErrNotFound, "+15551230001")
	})
}

func TestNumberFilters(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		user(t, s, "bob")
		buyer := number(t, s, "+15550000001", "")
		seller := directory.Number{E164: "+15550000002", Kind: directory.KindRole, Role: "seller"}
		must(t, s.CreateNumber(ctx, &seller))
		alice := number(t, s, "+15550000003", "alice")
		bob := number(t, s, "+15550000004", "bob")
		catchAll := directory.Number{E164: "+15550000005", Kind: directory.KindCatchAll}
		must(t, s.CreateNumber(ctx, &catchAll))

		for _, tc := range []struct {
			name string
			f    directory.NumberFilter
			want []directory.Number
		}{
			{"all", directory.NumberFilter{}, []directory.Number{buyer, seller, alice, bob, catchAll}},
			{"kind", directory.NumberFilter{Kind: directory.KindPersonal}, []directory.Number{alice, bob}},
			{"role", directory.NumberFilter{Role: "seller"}, []directory.Number{seller}},
			{"role exact", directory.NumberFilter{Role: "seller "}, []directory.Number{}},
			{"kind and role", directory.NumberFilter{Kind: directory.KindRole, Role: "buyer"}, []directory.Number{buyer}},
			{"owner", directory.NumberFilter{Owner: "bob"}, []directory.Number{bob}},
			{"unknown owner", directory.NumberFilter{Owner: "ghost"}, []directory.Number{}},
			{"page", directory.NumberFilter{Page: directory.Page{After: buyer.ID, Limit: 2}}, []directory.Number{seller, alice}},
			{"page and kind", directory.NumberFilter{Page: directory.Page{After: alice.ID, Limit: 5}, Kind: directory.KindPersonal}, []directory.Number{bob}},
		} {
			same(t, tc.name, get(s.ListNumbers(ctx, tc.f))(t), tc.want)
		}
	})
}

func TestNumberErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		n := number(t, s, "+15550000001", "")
		dup := directory.Number{E164: n.E164, Kind: directory.KindRole, Role: "seller"}
		isErr(t, s.CreateNumber(ctx, &dup), directory.ErrConflict, n.E164, "number already exists")

		ghost := directory.Number{E164: "+15550000009", Kind: directory.KindPersonal, Owner: "ghost"}
		isErr(t, s.CreateNumber(ctx, &ghost), directory.ErrNotFound, `"ghost"`)
		if ns := get(s.ListNumbers(ctx, directory.NumberFilter{}))(t); len(ns) != 1 {
			t.Errorf("numbers after failed create: %+v", ns)
		}
		isErr(t, s.DeleteNumber(ctx, 12345), directory.ErrNotFound, "12345")
		missing := directory.Number{ID: 12345, E164: "+1"}
		isErr(t, s.UpdateNumber(ctx, &missing), directory.ErrNotFound, "12345")
	})
}

func TestDeleteUserOwningNumber(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		u := user(t, s, "alice")
		n := number(t, s, "+15550000001", "alice")
		isErr(t, s.DeleteUser(ctx, u.ID), directory.ErrConflict, "owns number", n.E164)
		get(s.GetUser(ctx, u.ID))(t) // still there

		must(t, s.DeleteNumber(ctx, n.ID))
		must(t, s.DeleteUser(ctx, u.ID))
	})
}

func TestDeleteDefaultNumber(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		n := number(t, s, "+15550000001", "")
		u := directory.User{Username: "alice", Role: directory.RoleAgent, DefaultNumber: n.E164}
		must(t, s.CreateUser(ctx, &u))
		same(t, "default number", get(s.GetUser(ctx, u.ID))(t).DefaultNumber, n.E164)

		must(t, s.DeleteNumber(ctx, n.ID))
		same(t, "default number after delete", get(s.GetUser(ctx, u.ID))(t).DefaultNumber, "")
	})
}

package store_test

import (
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

func TestUserRoundTrip(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "bob")
		num := number(t, s, "+15551230001", "")
		u := directory.User{
			Username:      "alice",
			Name:          "Alice Ängström",
			Email:         "alice@example.com",
			Role:          directory.RoleManager,
			CellPhone:     "+15559870000",
			CellVerified:  true,
			DialerAccess:  true,
			DefaultNumber: num.E164,
			SIPPassword:   "never stored",
			SIP:           &directory.SIPCredential{Realm: "teamline", HA1MD5: "md5hex", HA1SHA256: "sha256hex"},
		}
		must(t, s.CreateUser(ctx, &u))
		if u.ID == 0 || u.CreatedAt.IsZero() || u.CreatedAt != u.UpdatedAt {
			t.Fatalf("CreateUser set ID %d, times %v %v", u.ID, u.CreatedAt, u.UpdatedAt)
		}
		if u.CreatedAt.Location() != time.UTC || u.CreatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("CreatedAt %v is not UTC microseconds", u.CreatedAt)
		}
		want := u
		want.SIPPassword = ""
		want.SIPEnabled = true
		same(t, "GetUser", get(s.GetUser(ctx, u.ID))(t), want)
		same(t, "GetUserByUsername", get(s.GetUserByUsername(ctx, "alice"))(t), want)

		// Update every field, drop the SIP credential and default number.
		up := directory.User{ID: u.ID, Username: "alice2", Name: "A", Email: "a@x", Role: directory.RoleAgent,
			CellPhone: "+15550000000", CreatedAt: u.CreatedAt}
		must(t, s.UpdateUser(ctx, &up))
		if !up.UpdatedAt.After(u.UpdatedAt) {
			t.Errorf("UpdatedAt %v not after %v", up.UpdatedAt, u.UpdatedAt)
		}
		got := get(s.GetUser(ctx, u.ID))(t)
		same(t, "updated user", got, up)
		if got.SIP != nil || got.SIPEnabled {
			t.Errorf("SIP %+v enabled %v after removing it", got.SIP, got.SIPEnabled)
		}

		users := get(s.ListUsers(ctx, directory.Page{}))(t)
		if len(users) != 2 || users[0].Username != "bob" || users[1].Username != "alice2" {
			t.Errorf("ListUsers = %+v", users)
		}
	})
}

func TestUserErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		u := user(t, s, "alice")
		dup := directory.User{Username: "alice", Role: directory.RoleAgent}
		isErr(t, s.CreateUser(ctx, &dup), directory.ErrConflict, "alice", "username")

		b := user(t, s, "bob")
		b.Username = "alice"
		isErr(t, s.UpdateUser(ctx, &b), directory.ErrConflict, "username")

		_, err := s.GetUser(ctx, 999)
		isErr(t, err, directory.ErrNotFound, "999")
		_, err = s.GetUserByUsername(ctx, "nobody")
		isErr(t, err, directory.ErrNotFound, "nobody")
		// Exact match: MySQL's "=" would ignore the trailing space.
		_, err = s.GetUserByUsername(ctx, "alice ")
		isErr(t, err, directory.ErrNotFound)
		_, err = s.GetUserByUsername(ctx, "ALICE")
		isErr(t, err, directory.ErrNotFound)

		ghost := directory.User{ID: 999, Username: "ghost"}
		isErr(t, s.UpdateUser(ctx, &ghost), directory.ErrNotFound, "999")
		isErr(t, s.DeleteUser(ctx, 999), directory.ErrNotFound, "999")

		withNum := directory.User{Username: "carol", DefaultNumber: "+15550000404"}
		isErr(t, s.CreateUser(ctx, &withNum), directory.ErrNotFound, "+15550000404")

		must(t, s.DeleteUser(ctx, u.ID))
		_, err = s.GetUser(ctx, u.ID)
		isErr(t, err, directory.ErrNotFound)
	})
}

func TestUnchangedUpdate(t *testing.T) {
	// MySQL reports 0 changed rows for an UPDATE that changes nothing; the
	// store must not take that for a missing row. A clock that stands still
	// makes the second update change nothing at all.
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			s := storetest.Open(t, d, store.WithClock(func() time.Time { return at }))
			u := user(t, s, "alice")
			n := number(t, s, "+15550001111", "")
			l := lead(t, s, "Lead", "+15550002222")
			r := directory.Rule{Name: "r", Distribution: directory.DistClaim}
			must(t, s.CreateRule(ctx, &r))
			for range 2 {
				must(t, s.UpdateUser(ctx, &u))
				must(t, s.UpdateNumber(ctx, &n))
				must(t, s.UpdateLead(ctx, &l))
				must(t, s.UpdateRule(ctx, &r))
				must(t, s.PutSettings(ctx, directory.DefaultSettings(), at))
			}
			tok := directory.Token{Name: "t", User: "alice"}
			must(t, s.CreateToken(ctx, &tok, []byte{1}))
			must(t, s.TouchToken(ctx, tok.ID, at))
			must(t, s.TouchToken(ctx, tok.ID, at))
		})
	}
}

func TestCallerTimesKept(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		created := time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("PST", -8*3600))
		u := directory.User{Username: "alice", CreatedAt: created, UpdatedAt: created.Add(time.Hour)}
		must(t, s.CreateUser(ctx, &u))
		want := created.UTC().Truncate(time.Microsecond)
		if u.CreatedAt != want || u.UpdatedAt != want.Add(time.Hour) {
			t.Errorf("CreateUser set %v %v", u.CreatedAt, u.UpdatedAt)
		}
		same(t, "stored", get(s.GetUser(ctx, u.ID))(t), u)

		// An update keeps created_at whatever the caller says.
		up := u
		up.CreatedAt, up.UpdatedAt = time.Time{}, want.Add(2*time.Hour)
		must(t, s.UpdateUser(ctx, &up))
		got := get(s.GetUser(ctx, u.ID))(t)
		if got.CreatedAt != want || got.UpdatedAt != want.Add(2*time.Hour) {
			t.Errorf("after update: %v %v", got.CreatedAt, got.UpdatedAt)
		}
	})
}

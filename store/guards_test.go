package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
)

// The directory service checks these singletons before writing; the
// database keeps them too, so two concurrent writers cannot both win.
func TestOnePrimaryManagerCatchAllNumberAndRule(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		wantConflict := func(err error, says string) {
			t.Helper()
			if !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), says) {
				t.Fatalf("err = %v; want a conflict saying %q", err, says)
			}
		}
		must(t, s.CreateUser(ctx, &directory.User{Username: "pm", Name: "PM", Role: directory.RolePrimaryManager}))
		must(t, s.CreateUser(ctx, &directory.User{Username: "m1", Name: "M1", Role: directory.RoleManager}))
		must(t, s.CreateUser(ctx, &directory.User{Username: "m2", Name: "M2", Role: directory.RoleManager}))
		wantConflict(s.CreateUser(ctx, &directory.User{Username: "pm2", Name: "PM2", Role: directory.RolePrimaryManager}), "primary manager already")
		m1 := get(s.GetUserByUsername(ctx, "m1"))(t)
		m1.Role = directory.RolePrimaryManager
		wantConflict(s.UpdateUser(ctx, &m1), "primary manager already")

		must(t, s.CreateNumber(ctx, &directory.Number{E164: "+15125550199", Kind: directory.KindCatchAll}))
		must(t, s.CreateNumber(ctx, &directory.Number{E164: "+15125550100", Kind: directory.KindRole, Role: "buyer"}))
		wantConflict(s.CreateNumber(ctx, &directory.Number{E164: "+15125550198", Kind: directory.KindCatchAll}), "catch-all number already")

		agents := []directory.RuleAgent{{User: "m1", LeadsPerRound: 1}}
		must(t, s.CreateRule(ctx, &directory.Rule{Name: "all", Position: 1, Active: true, CatchAll: true, Distribution: directory.DistAutoAssign, Agents: agents}))
		must(t, s.CreateRule(ctx, &directory.Rule{Name: "a", Position: 2, Active: true, Distribution: directory.DistAutoAssign, Agents: agents,
			Criteria: directory.Criteria{Cities: []string{"Austin"}}}))
		wantConflict(s.CreateRule(ctx, &directory.Rule{Name: "all 2", Position: 3, Active: true, CatchAll: true, Distribution: directory.DistAutoAssign, Agents: agents}), "catch-all rule already")
	})
}

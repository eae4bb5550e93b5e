package store_test

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

func TestAssignLead(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for _, u := range []string{"alice", "bob", "carol"} {
			user(t, s, u)
		}
		at := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.UTC)
		for i, tc := range []struct {
			name          string
			agent         string // the lead's buyer agent before ("" none)
			user, ifAgent string
			want          bool
			wantAgent     string
			changed       bool // updated_at set to at
		}{
			{"claim an unassigned lead", "", "alice", "", true, "alice", true},
			{"claim a lead someone has", "bob", "alice", "", false, "bob", false},
			{"claim a lead one has already", "alice", "alice", "", true, "alice", false},
			{"take over from the expected agent", "bob", "alice", "bob", true, "alice", true},
			{"take over from an agent who is no longer it", "carol", "alice", "bob", false, "carol", false},
			{"take over where nobody is the agent", "", "alice", "bob", false, "", false},
			{"take over a lead one has already", "alice", "alice", "bob", true, "alice", false},
			{"take over from oneself", "alice", "alice", "alice", true, "alice", false},
			{"take over from someone who is not a user", "bob", "alice", "nobody", false, "bob", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l := directory.Lead{Name: tc.name, Phones: []string{fmt.Sprintf("+1512555%04d", i)},
					Agents: map[string]string{"seller": "carol"}}
				if tc.agent != "" {
					l.Agents["buyer"] = tc.agent
				}
				must(t, s.CreateLead(ctx, &l))
				got := get(s.AssignLead(ctx, l.ID, "buyer", tc.user, tc.ifAgent, at))(t)
				if got != tc.want {
					t.Errorf("AssignLead = %v, want %v", got, tc.want)
				}
				after := get(s.GetLead(ctx, l.ID))(t)
				want := map[string]string{"seller": "carol"}
				if tc.wantAgent != "" {
					want["buyer"] = tc.wantAgent
				}
				same(t, "agents", after.Agents, want)
				wantUpdated := l.UpdatedAt
				if tc.changed {
					wantUpdated = at.Truncate(time.Microsecond)
				}
				same(t, "updated_at", after.UpdatedAt, wantUpdated)
			})
		}
	})
}

func TestAssignLeadErrors(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		user(t, s, "alice")
		l := lead(t, s, "L", "+15125550100")
		_, err := s.AssignLead(ctx, l.ID, "buyer", "nobody", "", time.Now())
		isErr(t, err, directory.ErrNotFound, `user "nobody"`)
		_, err = s.AssignLead(ctx, l.ID+1, "buyer", "alice", "", time.Now())
		isErr(t, err, directory.ErrNotFound, fmt.Sprint("lead ", l.ID+1))
		same(t, "lead", get(s.GetLead(ctx, l.ID))(t), l)

		// Nor can an unknown user take a lead over from its agent.
		other := lead(t, s, "Other", "+15125550101")
		other.Agents = map[string]string{"buyer": "alice"}
		must(t, s.UpdateLead(ctx, &other))
		_, err = s.AssignLead(ctx, other.ID, "buyer", "nobody", "alice", time.Now())
		isErr(t, err, directory.ErrNotFound, `user "nobody"`)
		same(t, "lead taken over by nobody", get(s.GetLead(ctx, other.ID))(t), other)

		// A zero time is the store's clock.
		if !get(s.AssignLead(ctx, l.ID, "buyer", "alice", "", time.Time{}))(t) {
			t.Fatal("not assigned")
		}
		if got := get(s.GetLead(ctx, l.ID))(t); !got.UpdatedAt.After(l.UpdatedAt) {
			t.Errorf("updated_at %v, was %v", got.UpdatedAt, l.UpdatedAt)
		}
	})
}

// Ten agents press 1 for the same lead at once: exactly one gets it, and
// the lead says so. Then ten take it over from that agent at once: again
// exactly one. The claims queue at the lead's row: none is run again
// after a deadlock (on MySQL, claims that locked the lead only after
// writing its agent deadlocked in about a third of the cases, which the
// retry hid).
func TestAssignLeadRace(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			var log deadlockLog
			s := storetest.Open(t, d, store.WithLogger(slog.New(&log)))
			const n = 10
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprint("agent", i)
				user(t, s, names[i])
			}
			l := lead(t, s, "Contested", "+15125550100")
			for _, round := range []struct{ name, ifAgent string }{{"claim", ""}, {"take over", "first"}} {
				ifAgent := round.ifAgent
				if ifAgent == "first" {
					ifAgent = get(s.GetLead(ctx, l.ID))(t).Agents["buyer"]
				}
				var wins atomic.Int32
				winner := make([]bool, n)
				collect(t, n, func(i int) error {
					ok, err := s.AssignLead(ctx, l.ID, "buyer", names[i], ifAgent, time.Now())
					if ok && names[i] != ifAgent {
						wins.Add(1)
						winner[i] = true
					}
					return err
				})
				if wins.Load() != 1 {
					t.Fatalf("%s: %d winners, want 1", round.name, wins.Load())
				}
				got := get(s.GetLead(ctx, l.ID))(t).Agents["buyer"]
				for i, w := range winner {
					if w && got != names[i] {
						t.Errorf("%s: %s won, but the lead's agent is %s", round.name, names[i], got)
					}
				}
			}
			same(t, "claims run again after a deadlock", log.deadlocks.Load(), int32(0))
		})
	}
}

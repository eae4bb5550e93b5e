package router

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/teamline/teamline/directory"
)

// rotation is one round of a rule pool's weighted round robin (R-RULE-5):
// agent i appears LeadsPerRound times among the round's slots, spread out
// rather than in runs (smooth weighted round robin: 3/2/1 gives
// a b a c b a), so a short stretch of calls is as fair as it can be and a
// full round is exact.
type rotation struct {
	slots []string // usernames, one per lead of the round
	key   string   // names the round: changes when the agents or shares change
}

func newRotation(agents []directory.RuleAgent) rotation {
	total := 0
	for _, a := range agents {
		total += max(a.LeadsPerRound, 1)
	}
	r := rotation{slots: make([]string, 0, total)}
	current := make([]int, len(agents))
	for range total {
		best := -1
		for i, a := range agents {
			current[i] += max(a.LeadsPerRound, 1)
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		r.slots = append(r.slots, agents[best].User)
	}
	h := fnv.New64a()
	for _, a := range agents {
		fmt.Fprintf(h, "%s:%d,", a.User, max(a.LeadsPerRound, 1))
	}
	r.key = fmt.Sprintf("%016x", h.Sum64())
	return r
}

// at returns the agent of position p and the other agents in the order the
// rotation reaches them after p (each once): the fallbacks when the pick
// does not answer (R-IN-4).
func (r rotation) at(p uint64) (pick string, order []string) {
	n := uint64(len(r.slots))
	if n == 0 {
		return "", nil
	}
	slot := p % n
	order = []string{r.slots[slot]}
	for i := uint64(1); i < n; i++ {
		u := r.slots[(slot+i)%n]
		if !slices.Contains(order, u) {
			order = append(order, u)
		}
	}
	return order[0], order
}

// describe is the round for the trace: "a a b" as "a×2 b×1 (3 per round)".
func (r rotation) describe(agents []directory.RuleAgent) string {
	parts := make([]string, len(agents))
	for i, a := range agents {
		parts[i] = fmt.Sprintf("%s×%d", a.User, max(a.LeadsPerRound, 1))
	}
	return fmt.Sprintf("%s (%d per round)", strings.Join(parts, " "), len(r.slots))
}

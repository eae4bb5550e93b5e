package router

import (
	"context"
	"time"

	"github.com/teamline/teamline/directory"
)

// Rotation pools: a rule's agents and its lenders turn separately (R-RULE-5,
// R-RULE-7).
const (
	PoolAgents  = "agents"
	PoolLenders = "lenders"
)

// Store is what routing keeps beyond the directory: rotation positions,
// lead assignments made by a decision, and the admin inbox. Package store
// implements it on SQLite and MySQL.
type Store interface {
	// RouteTx runs fn in one transaction: committed if fn returns nil.
	RouteTx(ctx context.Context, fn func(Tx) error) error
	// PeekRotation returns the position AdvanceRotation would return
	// next, without advancing it (explain).
	PeekRotation(ctx context.Context, ruleID int64, pool, roundKey string) (uint64, error)
	// AssignLead makes user the lead's agent for role when the lead's
	// current agent for role is ifAgent ("" = none), in one statement:
	// of two gateways claiming the same lead at once, one wins. It reports
	// whether user is now the agent.
	AssignLead(ctx context.Context, leadID int64, role, user, ifAgent string, at time.Time) (bool, error)
	// ListInbox returns inbox entries, newest first.
	ListInbox(ctx context.Context, f InboxFilter) ([]InboxEntry, error)
	// CountInbox counts the entries not yet marked done.
	CountInbox(ctx context.Context) (int64, error)
	// DoneInbox marks an entry handled (ErrNotFound-wrapped when missing).
	DoneInbox(ctx context.Context, id int64, by string, at time.Time) error
}

// Tx is a routing transaction: the lead a decision creates, the rotation
// step it takes and the inbox entry it writes commit together, so a
// failed decision neither skips a rotation position nor leaves half a
// lead.
type Tx interface {
	CreateLead(ctx context.Context, l *directory.Lead) error // sets l.ID
	// AdvanceRotation returns the rule pool's current position and
	// advances it by one. Positions are counted per round key: when the
	// key differs from the stored one (the rule's agents or their shares
	// changed), the count restarts at 0. Two gateways on one database
	// never get the same position.
	AdvanceRotation(ctx context.Context, ruleID int64, pool, roundKey string) (uint64, error)
	AddInbox(ctx context.Context, e *InboxEntry) error // sets e.ID
}

// InboxEntry is a caller nobody's rule took: the catch-all's missed
// caller (R-IN-3b), for a manager to call back.
type InboxEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Kind      Kind      `json:"kind"`              // call or text
	From      string    `json:"from"`              // the caller (E.164 or as received)
	To        string    `json:"to"`                // the number dialled
	CallID    string    `json:"call_id,omitempty"` // SIP Call-ID, if a call
	Reason    string    `json:"reason"`            // why it landed here (short trace)
	ForwardTo string    `json:"forward_to,omitempty"`
	Done      bool      `json:"done"`
	DoneBy    string    `json:"done_by,omitempty"`
	DoneAt    time.Time `json:"done_at,omitzero"`
}

// InboxFilter narrows the inbox. Before pages by ID (entries with a
// smaller ID); Limit 0 means 100.
type InboxFilter struct {
	Before   int64
	Limit    int
	OpenOnly bool
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// errUnchanged rolls back a transaction that found nothing to change.
var errUnchanged = errors.New("store: nothing changed")

// AssignLead makes user the lead's agent for role if the lead's agent for
// role is ifAgent now ("" = none), and sets the lead's updated_at to at (the
// store's clock if zero) when that changed the agent. It reports whether
// user is the agent afterwards: also true when user was the agent already,
// false when someone else is. An unknown user or lead is ErrNotFound; an
// ifAgent that is no user is nobody's current agent (false, unless user is
// the agent).
//
// The condition and the change are one statement: an INSERT that the
// primary key (lead_id, role) refuses when the lead has an agent for role,
// or an UPDATE whose WHERE names ifAgent. Of gateways claiming the same
// lead at once exactly one changes it; the others see its agent. Before
// it, the lead's row is locked by updating its updated_at (rolled back when
// nothing changes): claims of one lead queue there on MySQL, instead of
// deadlocking over the shared lock the lead_agents foreign key takes on
// that row and the exclusive one the updated_at write then needs.
//
// The usernames are looked up inside those statements, so a claim costs
// two statements; only one that changes nothing reads further, to tell
// the caller who the agent is (or that user is unknown).
func (s *Store) AssignLead(ctx context.Context, leadID int64, role, user, ifAgent string, at time.Time) (bool, error) {
	what := fmt.Sprintf("%s agent of lead %d", role, leadID)
	var isAgent bool
	err := s.retryTx(ctx, func(q *queries) error {
		isAgent = false
		res, err := q.q.ExecContext(ctx, `UPDATE leads SET updated_at = ? WHERE id = ?`,
			fmtTime(q.updateStamp(at)), leadID)
		if err != nil {
			return writeErr(err, what)
		}
		if err := mustAffect(res, fmt.Sprintf("lead %d", leadID)); err != nil {
			return err
		}
		changed, err := q.claimLead(ctx, leadID, role, user, ifAgent)
		if err != nil {
			return writeErr(err, what)
		}
		if changed {
			isAgent = true
			return nil
		}
		userID, err := q.userID(ctx, user)
		if err != nil {
			return err
		}
		current, err := q.leadAgentID(ctx, leadID, role)
		if err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
		isAgent = current == userID
		return errUnchanged
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return isAgent, err
}

// claimLead runs the conditional write of AssignLead and reports whether
// it changed the lead's agent. It changes nothing when user is no user.
func (q *queries) claimLead(ctx context.Context, leadID int64, role, user, ifAgent string) (bool, error) {
	userCond, userArgs := exact("username", user)
	var (
		res sql.Result
		err error
	)
	switch {
	case ifAgent == "":
		res, err = q.q.ExecContext(ctx, `INSERT INTO lead_agents (lead_id, role, user_id)
			SELECT ?, ?, id FROM users WHERE `+userCond, append([]any{leadID, role}, userArgs...)...)
		if kind, _ := classify(err); kind == errUnique {
			return false, nil // the lead has an agent for role
		}
	case ifAgent == user:
		return false, nil // a take-over from oneself changes nothing
	default:
		roleCond, roleArgs := exact("role", role)
		ifCond, ifArgs := exact("username", ifAgent)
		args := append(append([]any{}, userArgs...), leadID)
		args = append(append(append(args, roleArgs...), ifArgs...), userArgs...)
		// EXISTS: an unknown user matches nothing, rather than setting
		// user_id to NULL.
		res, err = q.q.ExecContext(ctx, `UPDATE lead_agents SET user_id = (SELECT id FROM users WHERE `+userCond+`)
			WHERE lead_id = ? AND `+roleCond+` AND user_id = (SELECT id FROM users WHERE `+ifCond+`)
			AND EXISTS (SELECT 1 FROM users WHERE `+userCond+`)`, args...)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// leadAgentID returns the user ID of the lead's agent for role, 0 for
// none.
func (q *queries) leadAgentID(ctx context.Context, leadID int64, role string) (int64, error) {
	cond, args := exact("role", role)
	var id int64
	err := q.q.QueryRowContext(ctx, `SELECT user_id FROM lead_agents WHERE lead_id = ? AND `+cond,
		append([]any{leadID}, args...)...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/teamline/teamline/directory"
)

// Sentinel errors of a decision that takes nobody's call. The SIP layer maps
// them to status codes in one place.
var (
	// ErrNoRoute: the dialled number is not one of the account's numbers,
	// or nobody can take the call and there is no catch-all.
	ErrNoRoute = errors.New("router: no route")
)

// Action is what the gateway does with a call.
type Action int

const (
	// Reject: nobody takes the call; Decision.Err says why.
	Reject Action = iota
	// RingUser: ring every device of Decision.Username.
	RingUser
	// Forward: send the call out through a trunk to Decision.ForwardTo
	// (the catch-all number).
	Forward
)

func (a Action) String() string {
	switch a {
	case RingUser:
		return "ring_user"
	case Forward:
		return "forward"
	default:
		return "reject"
	}
}

// Call is an inbound call (or text) to route. Numbers are E.164.
type Call struct {
	From string // the caller; may be empty or not a phone number (anonymous)
	To   string // the gateway number dialled
}

// Decision is the outcome of routing one call.
type Decision struct {
	Action   Action
	Username string // RingUser: whose devices ring
	// ForwardTo is the E.164 number a Forward goes to.
	ForwardTo string
	// Number is the gateway number dialled (zero Number if it is not ours).
	Number directory.Number
	// Lead is the caller's lead, if the caller is one.
	Lead *directory.Lead
	// Err says why for Reject (wraps ErrNoRoute).
	Err error
	// Trace lists the steps of the decision in words, for the call record
	// and for explaining it to a manager.
	Trace []string
}

// Short is the trace on one line, for the call record.
func (d Decision) Short() string { return strings.Join(d.Trace, "; ") }

// Router decides where calls go.
type Router interface {
	RouteCall(ctx context.Context, c Call) (Decision, error)
}

// Directory is what the router reads. *directory.Service implements it.
type Directory interface {
	GetNumberByE164(ctx context.Context, e164 string) (directory.Number, error)
	FindLeadByPhone(ctx context.Context, phone string) (directory.Lead, error)
	ListNumbers(ctx context.Context, f directory.NumberFilter) ([]directory.Number, error)
}

// Basic routes by R-IN-1 and R-IN-2 and sends the rest to the catch-all.
type Basic struct {
	dir Directory
}

var _ Router = (*Basic)(nil)

// NewBasic returns a router reading dir.
func NewBasic(dir Directory) *Basic { return &Basic{dir: dir} }

// RouteCall decides where c goes. An error is returned only when the
// directory could not be read (the caller answers 503 or 500); a decision
// that takes nobody's call is a Reject decision, not an error.
func (b *Basic) RouteCall(ctx context.Context, c Call) (Decision, error) {
	var d Decision
	n, err := b.dir.GetNumberByE164(ctx, c.To)
	switch {
	case isNotFound(err) || isInvalid(err):
		d.trace("%s is not a number of this account", orDash(c.To))
		return d.reject(), nil
	case err != nil:
		return d, fmt.Errorf("router: number %s: %w", c.To, err)
	}
	d.Number = n
	switch n.Kind {
	case directory.KindPersonal:
		// R-IN-1: always to the owner, whoever calls.
		d.trace("%s is the personal number of %s", n.E164, n.Owner)
		d.Action, d.Username = RingUser, n.Owner
		return d, nil
	case directory.KindCatchAll:
		d.trace("%s is the catch-all number", n.E164)
		return d.reject(), nil
	}

	d.trace("%s is a %s role number", n.E164, n.Role)
	lead, err := b.dir.FindLeadByPhone(ctx, c.From)
	switch {
	case isNotFound(err) || isInvalid(err):
		d.trace("caller %s is not a known lead", orDash(c.From))
	case err != nil:
		return d, fmt.Errorf("router: lead %s: %w", c.From, err)
	default:
		d.Lead = &lead
		if agent := lead.Agents[n.Role]; agent != "" {
			// R-IN-2: assignment decides.
			d.trace("caller is lead %d, whose %s agent is %s", lead.ID, n.Role, agent)
			d.Action, d.Username = RingUser, agent
			return d, nil
		}
		// R-IN-2: a known lead without an agent in that role is unknown.
		d.trace("caller is lead %d, which has no %s agent", lead.ID, n.Role)
	}
	return b.catchAll(ctx, d)
}

// catchAll forwards to the catch-all number (R-IN-3b) or rejects.
func (b *Basic) catchAll(ctx context.Context, d Decision) (Decision, error) {
	ns, err := b.dir.ListNumbers(ctx, directory.NumberFilter{Kind: directory.KindCatchAll, Page: directory.Page{Limit: 1}})
	if err != nil {
		return d, fmt.Errorf("router: catch-all number: %w", err)
	}
	if len(ns) == 0 {
		d.trace("no catch-all number")
		return d.reject(), nil
	}
	d.trace("forwarded to the catch-all number %s", ns[0].E164)
	d.Action, d.ForwardTo = Forward, ns[0].E164
	return d, nil
}

func (d *Decision) trace(format string, args ...any) {
	d.Trace = append(d.Trace, fmt.Sprintf(format, args...))
}

func (d Decision) reject() Decision {
	d.Action = Reject
	d.Err = fmt.Errorf("%w: %s", ErrNoRoute, d.Short())
	return d
}

func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }

func isInvalid(err error) bool {
	var v *directory.ValidationError
	return errors.As(err, &v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package router

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

// Sentinel errors of a decision that takes nobody's call. The SIP layer maps
// them to status codes in one place.
var (
	// ErrNoRoute: the dialled number is not one of the account's numbers,
	// or nobody can take the call and there is no catch-all.
	ErrNoRoute = errors.New("router: no route")
)

// Kind is what is routed: a call or a text (R-IN-5: the same rules).
type Kind string

// Kinds.
const (
	KindCall Kind = "call"
	KindText Kind = "text"
)

// Action is what the gateway does with a call.
type Action int

const (
	// Reject: nobody takes the call; Decision.Err says why.
	Reject Action = iota
	// RingUser: ring the agents of Decision.Agents as Decision.Mode says.
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

// Mode is how the agents of a RingUser decision are offered the call.
type Mode string

// Modes.
const (
	// ModeDirect: ring Username's phones (personal number, the lead's
	// agent); then Username's voicemail.
	ModeDirect Mode = "direct"
	// ModeRotation: auto-assign. Ring Agents one after the other, each for
	// the ring timeout, starting with Username, the rotation's pick; then
	// Username's voicemail (R-IN-4).
	ModeRotation Mode = "auto_assign"
	// ModeClaim: offer the call to Agents one at a time, each for
	// ClaimTimeout, with the whisper; the first to press 1 claims it
	// (R-RULE-6). Nobody: Username's voicemail.
	ModeClaim Mode = "claim"
	// ModeInstant: ring all Agents at once with the whisper; the first to
	// press 1 gets the call and the lead, the others are cancelled.
	ModeInstant Mode = "instant_call"
)

// Request is one call or text to route.
type Request struct {
	Kind Kind
	From string // the caller; may be empty or not a phone number (anonymous)
	To   string // the gateway number dialled
	// At is when the call arrived (zero: the router's clock). Windows
	// are evaluated at At in the account's time zone.
	At time.Time
	// CallID is the SIP Call-ID, kept with an inbox entry.
	CallID string
	// Explain decides without changing anything: no lead is created, the
	// rotation does not advance, nothing lands in the inbox. The trace
	// says what would have been done.
	Explain bool
}

// Decision is the outcome of routing one call or text.
type Decision struct {
	Action Action
	Mode   Mode
	// Username is the target: whose phones ring first and whose
	// voicemail takes the call when nobody answers.
	Username string
	// Agents are the agents offered the call, in order (Username first
	// for ModeDirect and ModeRotation).
	Agents []string
	// ClaimTimeout is how long each agent has to press 1 (ModeClaim).
	ClaimTimeout time.Duration
	// ForwardTo is the E.164 number a Forward goes to.
	ForwardTo string
	// Number is the gateway number dialled (zero Number if it is not ours).
	Number directory.Number
	// Role is the role whose agent the lead gets (the number's role).
	Role string
	// Lead is the caller's lead, if the caller is one or became one.
	Lead *directory.Lead
	// LeadCreated: the decision created Lead (unknown-number lead
	// routing, R-IN-3a). With Explain it would have.
	LeadCreated bool
	// Rule is the lead-routing rule that applied, if any.
	Rule *directory.Rule
	// Inbox is the admin inbox entry written for a missed caller
	// (R-IN-3b); nil when none.
	Inbox *InboxEntry
	// At is the time the decision was made for.
	At time.Time
	// Err says why for Reject (wraps ErrNoRoute).
	Err error
	// Trace lists the steps of the decision in words, for the call record
	// and for explaining it to a manager (R-RULE-9).
	Trace []string
}

// Short is the trace on one line, for the call record.
func (d Decision) Short() string { return strings.Join(d.Trace, "; ") }

// Explain is the trace one step per line, then the outcome.
func (d Decision) Explain() string {
	var b strings.Builder
	for i, s := range d.Trace {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	switch d.Action {
	case RingUser:
		fmt.Fprintf(&b, "=> %s: %s", d.Mode, strings.Join(d.Agents, ", "))
		if d.Username != "" {
			fmt.Fprintf(&b, " (voicemail: %s)", d.Username)
		}
	case Forward:
		fmt.Fprintf(&b, "=> forward to the catch-all number %s", d.ForwardTo)
	default:
		b.WriteString("=> rejected: nobody takes it")
	}
	b.WriteByte('\n')
	return b.String()
}

func (d *Decision) trace(format string, args ...any) {
	d.Trace = append(d.Trace, fmt.Sprintf(format, args...))
}

func (d Decision) reject() Decision {
	d.Action = Reject
	d.Err = fmt.Errorf("%w: %s", ErrNoRoute, d.Short())
	return d
}

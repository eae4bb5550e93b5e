package billing

import (
	"context"
	"time"
)

// Direction is which way a call went.
type Direction string

// Call directions.
const (
	Inbound  Direction = "inbound"  // trunk -> agent
	Outbound Direction = "outbound" // agent -> trunk
	Internal Direction = "internal" // agent -> agent
)

// Result is how a call ended.
type Result string

// Call results. A running call has the empty Result.
const (
	ResultAnswered    Result = "answered"
	ResultNoAnswer    Result = "no_answer"
	ResultBusy        Result = "busy"
	ResultDeclined    Result = "declined"
	ResultCancelled   Result = "cancelled"
	ResultNoRoute     Result = "no_route"
	ResultUnavailable Result = "unavailable"
	ResultFailed      Result = "failed"
	ResultRejected    Result = "rejected"
	// ResultVoicemail: nobody answered (or accepted) and the caller
	// reached the user's voicemail box; billed like an answered call.
	ResultVoicemail Result = "voicemail"
	// ResultInterrupted: the call was still open when its gateway stopped
	// (a crash); the record was closed when the gateway started again.
	ResultInterrupted Result = "interrupted"
)

// CallRecord is one call through the gateway (R-BILL-1), written at the
// start and completed at answer and end.
//
// The store keeps the texts that come partly from outside (CallID, From,
// To, Route, SIPReason) cut on a UTF-8 boundary rather than lose the
// record: CallID, From, To and Route to 1024 bytes, SIPReason to 255. The
// other texts are ours, and one longer than its column is an error wrapping
// store.ErrTooLong: Node, Username, Trunk and Consent hold 255 characters,
// Role 64, Direction, Result, NumberKind and Dialed 32.
type CallRecord struct {
	ID         int64
	CallID     string    // SIP Call-ID of the first leg
	Node       string    // gateway process that handled it
	Direction  Direction // inbound, outbound or internal
	From       string    // caller: E.164 or username
	To         string    // callee as dialled: E.164, extension/username
	Dialed     string    // the gateway number dialled (inbound) or used as caller ID (outbound), E.164; may be empty
	NumberKind string    // kind of Dialed: "role", "personal", "catch_all" or ""
	Role       string    // role of a role number, or ""
	Username   string    // the agent (answering or calling); "" if none. Kept as text: records outlive users.
	LeadID     int64     // 0 = none
	Trunk      string    // trunk name, "" for internal calls
	Route      string    // short explanation of the routing decision
	Start      time.Time // UTC
	Answer     time.Time // zero = never answered
	End        time.Time // zero = still running
	Result     Result    // "" while running
	SIPCode    int       // final SIP status of the call (200 for answered calls), 0 while running
	SIPReason  string    // e.g. "Busy Here", "BYE from callee", "media timeout", "max duration"
	// Consent is how the parties were told the call is recorded:
	// "played" (the announcement), "skipped:<reason>" such as
	// "skipped:one-party:TX", or "" when nothing was recorded.
	Consent   string
	ConsentAt time.Time // when Consent was decided; zero = not yet
	// RecordingID is the call's recording or voicemail (the recording
	// whose CallRecordID is this record), 0 = none; read-only, the store
	// derives it, so a deleted recording is no longer named.
	RecordingID int64
}

// Duration is the billable talk time: End-Answer for an answered call that
// has ended, else 0 (never negative).
func (r CallRecord) Duration() time.Duration {
	if r.Answer.IsZero() || r.End.IsZero() || r.End.Before(r.Answer) {
		return 0
	}
	return r.End.Sub(r.Answer)
}

// Open reports whether the call is still running (has no End).
func (r CallRecord) Open() bool { return r.End.IsZero() }

// CallEnd is how and when a call ended.
type CallEnd struct {
	At        time.Time
	Result    Result
	SIPCode   int
	SIPReason string
}

// Limits of ListCallRecords.
const (
	DefaultCallLimit = 100
	MaxCallLimit     = 1000
)

// CallFilter selects call records for ListCallRecords. Zero values do not
// filter.
type CallFilter struct {
	After    int64     // only records with ID > After (keyset paging: pass the last ID seen)
	Limit    int       // at most this many; <= 0 means DefaultCallLimit, above MaxCallLimit means MaxCallLimit
	Username string    // only this agent's calls (exact match)
	Since    time.Time // only calls that started at or after Since
	Until    time.Time // only calls that started before Until
	Open     bool      // only running calls
}

// CallRecords is the call record table. Implemented by package store; its
// methods are safe for concurrent use and are called by the SIP layer
// outside any transaction.
type CallRecords interface {
	// CreateCallRecord inserts r and sets r.ID. r.Start is required; times
	// are kept in UTC microseconds and r's are rounded to what was stored.
	CreateCallRecord(ctx context.Context, r *CallRecord) error
	// AnswerCallRecord records the answer at at, and the answering agent
	// when username is not empty. The first answer counts: answering again,
	// or answering a call that has ended, changes nothing. ErrNotFound for
	// an unknown id.
	AnswerCallRecord(ctx context.Context, id int64, at time.Time, username string) error
	// EndCallRecord sets End, Result, SIPCode and SIPReason if the record
	// is still open; ending it twice is a no-op, not an error. ErrNotFound
	// for an unknown id.
	EndCallRecord(ctx context.Context, id int64, e CallEnd) error
	// UpdateCallRoute records routing facts known after the record was
	// opened: it replaces Dialed, NumberKind, Role, LeadID and Route, and
	// sets Username when username is not empty. ErrNotFound for an unknown
	// id.
	UpdateCallRoute(ctx context.Context, id int64, dialed, kind, role, username string, leadID int64, route string) error
	// SetCallTrunk records the trunk a call went out through, known only
	// once a trunk took it (failover may have skipped others).
	SetCallTrunk(ctx context.Context, id int64, trunk string) error
	// CloseOpenCallRecords runs when a gateway starts: the records of node
	// still open (left by a crash) end at at with Result
	// ResultInterrupted, SIPReason "gateway restarted" and SIPCode 200 if
	// they were answered, else 0. It returns how many it closed.
	CloseOpenCallRecords(ctx context.Context, node string, at time.Time) (int64, error)
	// GetCallRecord returns one record; ErrNotFound for an unknown id.
	GetCallRecord(ctx context.Context, id int64) (CallRecord, error)
	// ListCallRecords returns the records f selects, by ID ascending.
	ListCallRecords(ctx context.Context, f CallFilter) ([]CallRecord, error)
	// SetCallConsent records how and when the parties were told of the
	// recording (see CallRecord.Consent); setting it again replaces it.
	// ErrNotFound for an unknown id.
	SetCallConsent(ctx context.Context, id int64, consent string, at time.Time) error
}

// Package recording keeps the audio of calls: the stereo WAV files the
// gateway writes while calls run (caller left, agent right), voicemail, the
// index of both in the store, their retention and the storage quota
// (R-REC-1..5, R-IN-4), and export.
package recording

import (
	"context"
	"time"
)

// Kind tells a call recording from a voicemail message.
type Kind string

const (
	KindCall      Kind = "call"
	KindVoicemail Kind = "voicemail"
)

// Recording is the index entry of one audio file.
type Recording struct {
	ID           int64
	CallRecordID int64  // call_records.id of the call it belongs to (0 if none)
	CallID       string // the SIP Call-ID of the caller's leg
	Kind         Kind
	Username     string // the agent of the call, or the owner of the voicemail box
	LeadID       int64
	From, To     string // E.164 or SIP user of caller and callee
	Path         string // file path relative to the recordings directory, "/"-separated
	Start        time.Time
	DurationMS   int64
	SizeBytes    int64
	SHA256       string // hex of the finished file; "" while it is written
	Complete     bool   // the file is finished and its size, duration and hash are final
	Saved        bool   // kept until ExpiresAt; unsaved recordings go at SaveBy
	SaveBy       time.Time
	ExpiresAt    time.Time // zero = kept indefinitely
	Heard        bool      // voicemail: somebody has fetched the audio
}

// Filter selects recordings for listing and export. Zero fields do not
// filter. From/To bound Start (From inclusive, To exclusive).
type Filter struct {
	From, To time.Time
	Username string
	LeadID   int64
	Kind     Kind
	// Incomplete selects recordings whose file was never finished (being
	// written, or left by a gateway that died).
	Incomplete bool
	AfterID    int64 // keyset pagination: only IDs greater than this
	Limit      int   // 0 = the store's default (100)
}

// Store is the index of recordings; package store implements it on SQLite
// and MySQL. Lookups of a missing id return directory.ErrNotFound.
type Store interface {
	// CreateRecording inserts r (Complete false) and sets r.ID.
	CreateRecording(ctx context.Context, r *Recording) error
	// FinishRecording sets the final duration, size and hash, and
	// Complete.
	FinishRecording(ctx context.Context, id int64, durationMS, sizeBytes int64, sha256 string) error
	// SaveRecording marks a recording saved (SaveBy cleared).
	SaveRecording(ctx context.Context, id int64) error
	// MarkHeard marks a voicemail heard.
	MarkHeard(ctx context.Context, id int64) error
	GetRecording(ctx context.Context, id int64) (Recording, error)
	// ListRecordings returns matches ordered by ID.
	ListRecordings(ctx context.Context, f Filter) ([]Recording, error)
	DeleteRecording(ctx context.Context, id int64) error
	// DueRecordings returns up to limit recordings that should go at
	// now: ExpiresAt passed, or unsaved, complete and SaveBy passed.
	DueRecordings(ctx context.Context, now time.Time, limit int) ([]Recording, error)
	// RecordingBytes is the total size of all recordings.
	RecordingBytes(ctx context.Context) (int64, error)
	// UnheardVoicemails counts the user's voicemails not heard yet, and
	// all of the user's voicemails.
	UnheardVoicemails(ctx context.Context, username string) (unheard, total int, err error)
}

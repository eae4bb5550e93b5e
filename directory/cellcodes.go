package directory

import (
	"context"
	"time"
)

// CellCode is a pending verification of an agent's cell phone (R-ACC-3):
// the code sent by text, kept only as a hash.
type CellCode struct {
	User      string // username
	Phone     string // E.164 the code was sent to
	Hash      []byte // SHA-256 of the code (see the service for the salt)
	ExpiresAt time.Time
	Attempts  int // wrong codes entered so far
	CreatedAt time.Time
}

// CellCodes keeps pending cell phone verifications. Package store
// implements it.
type CellCodes interface {
	// PutCellCode replaces any pending code of c.User.
	PutCellCode(ctx context.Context, c CellCode) error
	// GetCellCode returns the pending code of user (ErrNotFound-wrapped
	// when there is none).
	GetCellCode(ctx context.Context, user string) (CellCode, error)
	// CountCellCodeAttempt adds one wrong attempt and returns the new
	// count (ErrNotFound-wrapped when there is no code).
	CountCellCodeAttempt(ctx context.Context, user string) (int, error)
	// DeleteCellCode removes the pending code of user, if any.
	DeleteCellCode(ctx context.Context, user string) error
}

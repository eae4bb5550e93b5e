package directory

import (
	"context"
	"time"
)

// Queries are the reads and writes of the directory. Implementations (package
// store) do no validation beyond the database's own constraints: they return
// ErrNotFound (wrapped) for a missing row and ErrConflict (wrapped) for a
// unique-key or foreign-key violation. Lists are ordered by ID ascending,
// except ListRules, ordered by Position.
//
// References between objects are by username (Number.Owner, Lead.Agents,
// RuleAgent.User, User.DefaultNumber is by E.164); the store maps them to row
// IDs and returns ErrNotFound when a referenced user or number does not exist.
type Queries interface {
	ListUsers(ctx context.Context, p Page) ([]User, error)
	GetUser(ctx context.Context, id int64) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	CreateUser(ctx context.Context, u *User) error // sets u.ID
	UpdateUser(ctx context.Context, u *User) error // by u.ID
	DeleteUser(ctx context.Context, id int64) error

	ListNumbers(ctx context.Context, f NumberFilter) ([]Number, error)
	GetNumber(ctx context.Context, id int64) (Number, error)
	GetNumberByE164(ctx context.Context, e164 string) (Number, error)
	CreateNumber(ctx context.Context, n *Number) error
	UpdateNumber(ctx context.Context, n *Number) error
	DeleteNumber(ctx context.Context, id int64) error

	ListLeads(ctx context.Context, f LeadFilter) ([]Lead, error)
	GetLead(ctx context.Context, id int64) (Lead, error)
	GetLeadByPhone(ctx context.Context, e164 string) (Lead, error)
	CreateLead(ctx context.Context, l *Lead) error
	UpdateLead(ctx context.Context, l *Lead) error
	DeleteLead(ctx context.Context, id int64) error
	CountLeads(ctx context.Context) (int64, error)

	ListRules(ctx context.Context) ([]Rule, error)
	GetRule(ctx context.Context, id int64) (Rule, error)
	GetRuleByName(ctx context.Context, name string) (Rule, error)
	CreateRule(ctx context.Context, r *Rule) error
	UpdateRule(ctx context.Context, r *Rule) error
	DeleteRule(ctx context.Context, id int64) error

	// GetSettings returns DefaultSettings() if none were ever stored.
	GetSettings(ctx context.Context) (Settings, error)
	PutSettings(ctx context.Context, s Settings, at time.Time) error

	CreateToken(ctx context.Context, t *Token, hash []byte) error
	ListTokens(ctx context.Context, user string) ([]Token, error) // user "" = all
	GetTokenByHash(ctx context.Context, hash []byte) (Token, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
	DeleteToken(ctx context.Context, id int64) error
}

// Store is a directory database.
type Store interface {
	Queries
	// InTx runs fn in one transaction: committed if fn returns nil, rolled
	// back otherwise. Nested calls are not supported.
	InTx(ctx context.Context, fn func(q Queries) error) error
	// Ping checks the database is reachable (for /healthz).
	Ping(ctx context.Context) error
	Close() error
}

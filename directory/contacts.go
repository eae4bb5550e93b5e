package directory

import (
	"context"
	"time"
)

// Contact is one registered device of a user (RFC 3261 section 10): a
// binding of the user's address of record to a Contact URI.
//
// The store keeps URI, Source and CallID up to 1024 bytes (longer is an
// error wrapping store.ErrTooLong), Instance and Node up to 255 characters,
// and cuts UserAgent to 255 bytes (on a UTF-8 boundary) rather than refuse
// a registration for it.
type Contact struct {
	ID        int64
	Username  string    // the user (users.username); the store keeps user_id with ON DELETE CASCADE
	URI       string    // the Contact URI as registered, e.g. "sip:alice@192.0.2.7:5062;transport=udp"
	Source    string    // where requests to this contact are sent: "udp:203.0.113.5:5062" (transport:ip:port the REGISTER came from, for NAT)
	Instance  string    // +sip.instance (RFC 5626 section 4.1), may be empty
	CallID    string    // Call-ID of the REGISTER (RFC 3261 10.3 step 7)
	CSeq      uint32    // CSeq number of the REGISTER
	UserAgent string    // User-Agent header, for the admin's eyes
	Node      string    // name of the gateway process that received the REGISTER (several gateways share one DB)
	Expires   time.Time // UTC
	UpdatedAt time.Time // when the binding was last written; zero = the store's clock
}

// Contacts is the registrations table (the location service). Implemented
// by store.Store, outside transactions; safe for concurrent use.
//
// The store does not apply RFC 3261 10.3's Call-ID/CSeq ordering check:
// the registrar reads the binding (ListContacts) and decides; PutContact
// then writes unconditionally.
type Contacts interface {
	// PutContact inserts or replaces the binding of (Username, URI); sets
	// c.ID (kept when the binding existed) and rounds c's times to what was
	// stored. ErrNotFound if the user does not exist. URI is compared
	// byte-exact.
	PutContact(ctx context.Context, c *Contact) error
	// DeleteContact removes one binding; no error if it did not exist.
	DeleteContact(ctx context.Context, username, uri string) error
	// DeleteContacts removes all bindings of a user (REGISTER with
	// Contact: *), returns how many.
	DeleteContacts(ctx context.Context, username string) (int64, error)
	// ListContacts returns the user's bindings that expire after now,
	// ordered by ID.
	ListContacts(ctx context.Context, username string, now time.Time) ([]Contact, error)
	// ListNodeContacts returns the unexpired bindings received by one node
	// (for UDP keep-alives), ordered by ID.
	ListNodeContacts(ctx context.Context, node string, now time.Time) ([]Contact, error)
	// ExpireContacts deletes bindings that expired at or before now,
	// returns how many.
	ExpireContacts(ctx context.Context, now time.Time) (int64, error)
	// CountContacts counts unexpired bindings (for a Prometheus gauge).
	CountContacts(ctx context.Context, now time.Time) (int64, error)
}

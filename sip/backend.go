package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/teamline/teamline/billing"
	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/recording/jurisdiction"
	"github.com/teamline/teamline/router"
)

// Directory is what the SIP side reads of the directory. *directory.Service
// implements it.
type Directory interface {
	GetUserByUsername(ctx context.Context, username string) (directory.User, error)
	GetSettings(ctx context.Context) (directory.Settings, error)
	GetNumberByE164(ctx context.Context, e164 string) (directory.Number, error)
	ListNumbers(ctx context.Context, f directory.NumberFilter) ([]directory.Number, error)
	FindLeadByPhone(ctx context.Context, e164 string) (directory.Lead, error)
}

// Router is the routing as calls use it. *router.Router implements it.
type Router interface {
	Route(ctx context.Context, req router.Request) (router.Decision, error)
	// Claim gives the decision's lead to the agent who pressed 1.
	Claim(ctx context.Context, d router.Decision, user string) error
	// Answered tells who answered a routed call.
	Answered(ctx context.Context, d router.Decision, user string) error
}

// Backend is everything the registrar and the B2BUA need. Without one (see
// WithBackend) the server answers OPTIONS and refuses calls and
// registrations, as a gateway with telephony switched off.
type Backend struct {
	Directory Directory
	Phones    *directory.Phones
	Router    Router
	Contacts  directory.Contacts
	Records   billing.CallRecords
	Media     *media.Engine
	// MediaIP is the address written into SDP (rtp.advertise, or the
	// address media binds to).
	MediaIP netip.Addr
	// Node names this gateway process in contacts and call records.
	Node   string
	Trunks []Trunk

	Registrar RegistrarConfig
	Calls     CallConfig

	// Recordings records calls and keeps voicemail; nil turns both off.
	Recordings *recording.Service
	// RecordingIndex is the store behind Recordings (voicemail counts for
	// the message light).
	RecordingIndex recording.Store
	// Consent decides who hears the consent prompt when the account's
	// consent_prompt is two_party; nil plays it to everyone.
	Consent *jurisdiction.Policy
	// Prompts is the gateway's audio (shipped prompts when nil).
	Prompts   *Prompts
	Voicemail VoicemailConfig

	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RegistrarConfig tunes registrations and authentication.
type RegistrarConfig struct {
	MinExpires, MaxExpires, DefaultExpires time.Duration
	NonceLifetime                          time.Duration
	MaxAuthFailures                        int
	FailureWindow, BlockDuration           time.Duration
	KeepaliveInterval                      time.Duration
	// DropUnknown: a request from an address that is no trunk's and whose
	// credentials fail gets no answer at all instead of 403.
	DropUnknown bool
	// DigestAlgorithms are offered in challenges, in order ("MD5",
	// "SHA-256"); default MD5 alone.
	DigestAlgorithms []string
	// AccountFailureAlert is how many failed authentications of one user
	// name within FailureWindow are logged as a warning (default 20).
	AccountFailureAlert int
}

// CallConfig tunes calls.
type CallConfig struct {
	// DrainTimeout is how long calls in progress may go on once the
	// server stops; negative ends them at once. Default 4m.
	DrainTimeout   time.Duration
	InviteTimeout  time.Duration
	CallerIDHeader string
	// AcceptTimeout is how long an agent has to press 1 (R-IN-7).
	AcceptTimeout time.Duration
}

// VoicemailConfig tunes voicemail (R-IN-4).
type VoicemailConfig struct {
	MaxLength time.Duration // longest message (default 3 minutes)
	MWI       bool          // NOTIFY message-summary to the box owner's phones
}

func (b *Backend) check() error {
	switch {
	case b.Directory == nil, b.Phones == nil, b.Router == nil, b.Contacts == nil, b.Records == nil, b.Media == nil:
		return errors.New("sip: backend needs directory, phones, router, contacts, call records and media")
	case !b.MediaIP.IsValid() || b.MediaIP.IsUnspecified():
		return errors.New("sip: backend needs the media address to advertise in SDP")
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	r := &b.Registrar
	r.MinExpires = orDefault(r.MinExpires, time.Minute)
	r.MaxExpires = orDefault(r.MaxExpires, time.Hour)
	r.DefaultExpires = orDefault(r.DefaultExpires, time.Hour)
	r.NonceLifetime = orDefault(r.NonceLifetime, 5*time.Minute)
	r.FailureWindow = orDefault(r.FailureWindow, time.Minute)
	r.BlockDuration = orDefault(r.BlockDuration, 15*time.Minute)
	if r.MaxAuthFailures <= 0 {
		r.MaxAuthFailures = 10
	}
	if r.AccountFailureAlert <= 0 {
		r.AccountFailureAlert = 20
	}
	if len(r.DigestAlgorithms) == 0 {
		r.DigestAlgorithms = []string{"MD5"}
	}
	for _, a := range r.DigestAlgorithms {
		if a != "MD5" && a != "SHA-256" {
			return fmt.Errorf("sip: digest algorithm %q: want MD5 or SHA-256", a)
		}
	}
	c := &b.Calls
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 4 * time.Minute
	}
	c.InviteTimeout = orDefault(c.InviteTimeout, 10*time.Second)
	c.AcceptTimeout = orDefault(c.AcceptTimeout, 15*time.Second)
	b.Voicemail.MaxLength = orDefault(b.Voicemail.MaxLength, 3*time.Minute)
	if b.Prompts == nil {
		p, err := LoadPrompts(nil, "")
		if err != nil {
			return err
		}
		b.Prompts = p
	}
	names := map[string]bool{}
	b.Trunks = slices.Clone(b.Trunks) // normalised and completed here, not in the caller's slice
	for i := range b.Trunks {
		t := &b.Trunks[i]
		if err := t.normalize(); err != nil {
			return err
		}
		if names[t.Name] {
			return fmt.Errorf("sip: trunk %q given twice", t.Name)
		}
		names[t.Name] = true
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// WithBackend switches telephony on: the registrar, calls and trunks.
func WithBackend(b Backend) Option {
	return func(o *options) error {
		if err := b.check(); err != nil {
			return err
		}
		o.backend = &b
		return nil
	}
}

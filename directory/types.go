package directory

import "time"

// Role is a user's role in the account (R-ACC-1).
type Role string

// User roles.
const (
	RolePrimaryManager Role = "primary_manager"
	RoleManager        Role = "manager"
	RoleAgent          Role = "agent"
)

// IsManager reports whether the role may change the directory and settings.
func (r Role) IsManager() bool { return r == RolePrimaryManager || r == RoleManager }

// SIPCredential is what Teamline keeps of a user's SIP password: the digest
// HA1 values (RFC 7616 section 3.4.2) for MD5 and SHA-256 under the realm, never
// the password itself.
type SIPCredential struct {
	Realm     string `json:"realm" yaml:"realm"`
	HA1MD5    string `json:"md5" yaml:"md5"`
	HA1SHA256 string `json:"sha256" yaml:"sha256"`
}

// User is a member of the team.
type User struct {
	ID       int64  `json:"id" yaml:"-"`
	Username string `json:"username" yaml:"username"` // login and SIP user name; lowercase; the key other objects refer to
	Name     string `json:"name" yaml:"name"`
	Email    string `json:"email,omitempty" yaml:"email,omitempty"`
	Role     Role   `json:"role" yaml:"role"`
	// CellPhone is the agent's own cell phone (E.164); calls are forwarded to
	// it only once CellVerified (R-ACC-3).
	CellPhone    string `json:"cell_phone,omitempty" yaml:"cell_phone,omitempty"`
	CellVerified bool   `json:"cell_verified" yaml:"cell_verified,omitempty"`
	DialerAccess bool   `json:"dialer_access" yaml:"dialer_access,omitempty"`
	// DefaultNumber is the E.164 of the user's default outbound number: a
	// role number or the user's own personal number (R-NUM-6). Empty means
	// the account default.
	DefaultNumber string `json:"default_number,omitempty" yaml:"default_number,omitempty"`

	// SIPPassword is write-only input: the service turns it into SIP and
	// clears it. It is never stored, returned or exported.
	SIPPassword string `json:"sip_password,omitempty" yaml:"sip_password,omitempty"`
	// SIP is the stored credential; nil means the user has no SIP login.
	// The API never returns it (see SIPEnabled); the directory file carries
	// it so that export and apply round-trip without plain passwords.
	SIP        *SIPCredential `json:"-" yaml:"sip_ha1,omitempty"`
	SIPEnabled bool           `json:"sip_enabled" yaml:"-"`

	CreatedAt time.Time `json:"created_at" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
}

// NumberKind is the kind of a number (R-NUM-1).
type NumberKind string

// Number kinds.
const (
	KindRole     NumberKind = "role"
	KindPersonal NumberKind = "personal"
	KindCatchAll NumberKind = "catch_all"
)

// Number is an E.164 number (DID) the account owns.
type Number struct {
	ID        int64      `json:"id" yaml:"-"`
	E164      string     `json:"number" yaml:"number"`
	Kind      NumberKind `json:"kind" yaml:"kind"`
	Role      string     `json:"role,omitempty" yaml:"role,omitempty"`   // kind role only: buyer, seller, lender, ...
	Owner     string     `json:"owner,omitempty" yaml:"owner,omitempty"` // kind personal only: the owner's username
	Label     string     `json:"label,omitempty" yaml:"label,omitempty"`
	Trunk     string     `json:"trunk,omitempty" yaml:"trunk,omitempty"` // name of the trunk the DID arrives on; empty = any
	CreatedAt time.Time  `json:"created_at" yaml:"-"`
	UpdatedAt time.Time  `json:"updated_at" yaml:"-"`
}

// LeadType is what a lead wants (R-LEAD-1).
type LeadType string

// Lead types.
const (
	LeadBuyer  LeadType = "buyer"
	LeadSeller LeadType = "seller"
	LeadBoth   LeadType = "both"
)

// Lead is a contact of the team (R-LEAD).
type Lead struct {
	ID           int64    `json:"id" yaml:"-"`
	Phones       []string `json:"phones" yaml:"phones"` // E.164, each on at most one lead
	Name         string   `json:"name,omitempty" yaml:"name,omitempty"`
	Email        string   `json:"email,omitempty" yaml:"email,omitempty"`
	Source       string   `json:"source,omitempty" yaml:"source,omitempty"`
	Tags         []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Type         LeadType `json:"type,omitempty" yaml:"type,omitempty"`
	PriceMin     int64    `json:"price_min,omitempty" yaml:"price_min,omitempty"` // whole currency units; 0 = not set
	PriceMax     int64    `json:"price_max,omitempty" yaml:"price_max,omitempty"`
	City         string   `json:"city,omitempty" yaml:"city,omitempty"`
	County       string   `json:"county,omitempty" yaml:"county,omitempty"`
	Neighborhood string   `json:"neighborhood,omitempty" yaml:"neighborhood,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty" yaml:"postal_code,omitempty"`
	PropertyType string   `json:"property_type,omitempty" yaml:"property_type,omitempty"`
	Site         string   `json:"site,omitempty" yaml:"site,omitempty"`
	Region       string   `json:"region,omitempty" yaml:"region,omitempty"`
	// Agents maps a role (buyer, seller, lender, ...) to the username of the
	// lead's agent for that role (R-LEAD-2).
	Agents map[string]string `json:"agents,omitempty" yaml:"agents,omitempty"`

	CreatedAt time.Time `json:"created_at" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
}

// Distribution is how a rule hands a lead to its agents (R-RULE-6).
type Distribution string

// Distribution types.
const (
	DistAutoAssign  Distribution = "auto_assign"
	DistClaim       Distribution = "claim"
	DistInstantCall Distribution = "instant_call"
)

// Criteria select the leads a rule applies to (R-RULE-3). Several values of
// one type are OR; different types together are AND. Nil price bounds are
// not criteria.
type Criteria struct {
	Sources       []string   `json:"source,omitempty" yaml:"source,omitempty"`
	Tags          []string   `json:"tag,omitempty" yaml:"tag,omitempty"`
	PriceMin      *int64     `json:"price_min,omitempty" yaml:"price_min,omitempty"`
	PriceMax      *int64     `json:"price_max,omitempty" yaml:"price_max,omitempty"`
	Cities        []string   `json:"city,omitempty" yaml:"city,omitempty"`
	Counties      []string   `json:"county,omitempty" yaml:"county,omitempty"`
	Neighborhoods []string   `json:"neighborhood,omitempty" yaml:"neighborhood,omitempty"`
	PostalCodes   []string   `json:"postal_code,omitempty" yaml:"postal_code,omitempty"`
	LeadTypes     []LeadType `json:"lead_type,omitempty" yaml:"lead_type,omitempty"`
	Regions       []string   `json:"region,omitempty" yaml:"region,omitempty"`
	PropertyTypes []string   `json:"property_type,omitempty" yaml:"property_type,omitempty"`
	Sites         []string   `json:"site,omitempty" yaml:"site,omitempty"`
}

// Window is a day-and-time window in the account's time zone (R-RULE-4).
// End before Start crosses midnight. Days are mon..sun; empty means every day.
type Window struct {
	Days  []string `json:"days,omitempty" yaml:"days,omitempty"`
	Start string   `json:"start" yaml:"start"` // HH:MM
	End   string   `json:"end" yaml:"end"`     // HH:MM; "24:00" allowed
}

// RuleAgent is an agent (or lender) in a rule with its share of the
// rotation (R-RULE-5, R-RULE-7).
type RuleAgent struct {
	User          string `json:"user" yaml:"user"`
	LeadsPerRound int    `json:"leads_per_round" yaml:"leads_per_round"`
}

// Rule is one lead-routing rule (R-RULE).
type Rule struct {
	ID       int64  `json:"id" yaml:"-"`
	Name     string `json:"name" yaml:"name"` // unique; the key of the directory file
	Position int    `json:"position" yaml:"-"`
	Active   bool   `json:"active" yaml:"active"`
	// CatchAll marks the one rule that is always active, always last and
	// matches every lead (R-RULE-2).
	CatchAll     bool         `json:"catch_all" yaml:"catch_all,omitempty"`
	Criteria     Criteria     `json:"criteria" yaml:"criteria,omitempty"`
	Windows      []Window     `json:"windows,omitempty" yaml:"windows,omitempty"`
	Distribution Distribution `json:"distribution" yaml:"distribution"`
	// ClaimTimeout is seconds an agent has to claim (press 1) under claim
	// distribution.
	ClaimTimeout int         `json:"claim_timeout,omitempty" yaml:"claim_timeout,omitempty"`
	Agents       []RuleAgent `json:"agents" yaml:"agents"`
	Lenders      []RuleAgent `json:"lenders,omitempty" yaml:"lenders,omitempty"`

	CreatedAt time.Time `json:"created_at" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"-"`
}

// Token is an API bearer token. Only a SHA-256 of the secret is stored.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	User       string     `json:"user"`   // username of the user the token acts as
	Prefix     string     `json:"prefix"` // first characters of the secret, to tell tokens apart
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

// Page asks for one page of a list ordered by ID: the items with ID > After,
// at most Limit of them (0 = all).
type Page struct {
	After int64
	Limit int
}

// NumberFilter narrows a number list. Zero values do not filter.
type NumberFilter struct {
	Page
	Kind  NumberKind
	Role  string
	Owner string
}

// LeadFilter narrows a lead list. Zero values do not filter.
type LeadFilter struct {
	Page
	Phone string // exact E.164
	Agent string // username assigned in any role
	Query string // substring of the name
}

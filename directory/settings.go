package directory

import "time"

// Settings are the account-wide settings. The zero value is not valid; start
// from DefaultSettings. Defaults follow docs/PRODUCT.md; money is in cents.
type Settings struct {
	// Roles are the role names numbers and lead assignments may use
	// (R-NUM-2). "listing" is accepted as another name for "seller".
	Roles    []string `json:"roles" yaml:"roles"`
	TimeZone string   `json:"time_zone" yaml:"time_zone"` // IANA name; windows and billing cycles use it

	// R-NUM
	DefaultNumber        string `json:"default_number,omitempty" yaml:"default_number,omitempty"` // E.164; empty = the first buyer role number
	ExtraNumberFeeCents  int64  `json:"extra_number_fee_cents" yaml:"extra_number_fee_cents"`
	IncludedRoleNumbers  int    `json:"included_role_numbers_per_role" yaml:"included_role_numbers_per_role"`
	IncludedPersonalNums int    `json:"included_personal_numbers_per_user" yaml:"included_personal_numbers_per_user"`

	// R-IN
	UnknownLeadRouting bool   `json:"unknown_lead_routing" yaml:"unknown_lead_routing"`
	CallerIDMode       string `json:"caller_id_mode" yaml:"caller_id_mode"` // "dialed_number" or "lead_number"
	PressOneToClaim    bool   `json:"press_one_to_claim" yaml:"press_one_to_claim"`
	RingTimeoutSeconds int    `json:"ring_timeout_seconds" yaml:"ring_timeout_seconds"`
	Voicemail          bool   `json:"voicemail" yaml:"voicemail"`
	// ActionableStart/End bound claim and instant call (R-RULE-6), HH:MM.
	ActionableStart string `json:"actionable_start" yaml:"actionable_start"`
	ActionableEnd   string `json:"actionable_end" yaml:"actionable_end"`

	// R-OUT, R-ACC
	InternationalEnabled  bool   `json:"international_enabled" yaml:"international_enabled"`
	CallerName            string `json:"caller_name,omitempty" yaml:"caller_name,omitempty"` // branded caller ID (CNAM); primary manager only
	CallerNameFeeCents    int64  `json:"caller_name_fee_cents" yaml:"caller_name_fee_cents"`
	AgentsDialer          bool   `json:"agents_dialer" yaml:"agents_dialer"`                       // agents may use the dialer and texting
	AgentsMayEnableDialer bool   `json:"agents_may_enable_dialer" yaml:"agents_may_enable_dialer"` // agents may switch their own dialer access on

	// R-REC
	RecordingEnabled     bool   `json:"recording_enabled" yaml:"recording_enabled"`
	RecordingSaveDefault bool   `json:"recording_save_by_default" yaml:"recording_save_by_default"`
	ConsentPrompt        string `json:"consent_prompt" yaml:"consent_prompt"`     // "off", "all", "two_party"
	RetentionDays        int    `json:"retention_days" yaml:"retention_days"`     // 7, 30, 90, 365; 0 = indefinite
	StorageQuotaMB       int64  `json:"storage_quota_mb" yaml:"storage_quota_mb"` // 0 = no quota

	// R-MSG
	MassTextMaxRecipients int   `json:"mass_text_max_recipients" yaml:"mass_text_max_recipients"`
	TextsPerDay           int   `json:"texts_per_day" yaml:"texts_per_day"`
	TextsPerMonth         int   `json:"texts_per_month" yaml:"texts_per_month"`
	TextsPerSecond        int   `json:"texts_per_second_per_number" yaml:"texts_per_second_per_number"`
	TextOverage           bool  `json:"text_overage" yaml:"text_overage"`
	TextOverageCentsPer1k int64 `json:"text_overage_cents_per_1000" yaml:"text_overage_cents_per_1000"`

	// R-BILL
	BillingIncrementSeconds int   `json:"billing_increment_seconds" yaml:"billing_increment_seconds"`
	IncludedMinutes         int   `json:"included_minutes" yaml:"included_minutes"`
	MinuteOverage           bool  `json:"minute_overage" yaml:"minute_overage"`
	MinuteOverageCents      int64 `json:"minute_overage_cents" yaml:"minute_overage_cents"`
	IncludedStorageMB       int64 `json:"included_storage_mb" yaml:"included_storage_mb"`
	UsageAlertPercents      []int `json:"usage_alert_percents" yaml:"usage_alert_percents"`
	MaxCallMinutes          int   `json:"max_call_minutes" yaml:"max_call_minutes"`

	// UpdatedAt is when the settings last changed; read-only. Updates
	// computed from an older read are refused.
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"-"`
}

// DefaultSettings returns the shipped defaults of docs/PRODUCT.md.
func DefaultSettings() Settings {
	return Settings{
		Roles:                   []string{"buyer", "seller", "lender"},
		TimeZone:                "America/New_York",
		ExtraNumberFeeCents:     200,
		IncludedRoleNumbers:     1,
		IncludedPersonalNums:    1,
		UnknownLeadRouting:      true,
		CallerIDMode:            "dialed_number",
		RingTimeoutSeconds:      30,
		Voicemail:               true,
		ActionableStart:         "08:00",
		ActionableEnd:           "21:00",
		CallerNameFeeCents:      1000,
		AgentsDialer:            true,
		RecordingEnabled:        true,
		RecordingSaveDefault:    true,
		ConsentPrompt:           "off",
		RetentionDays:           90,
		MassTextMaxRecipients:   250,
		TextsPerDay:             1000,
		TextsPerMonth:           2500,
		TextsPerSecond:          1,
		TextOverage:             true,
		TextOverageCentsPer1k:   1500,
		BillingIncrementSeconds: 60,
		IncludedMinutes:         5000,
		MinuteOverage:           true,
		MinuteOverageCents:      2,
		IncludedStorageMB:       10240,
		UsageAlertPercents:      []int{80, 100},
		MaxCallMinutes:          240,
	}
}

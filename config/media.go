package config

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Recording configures where call recordings and voicemail live and how the consent prompt decides on
// two-party-consent callers. Whether calls are recorded, save-by-default, the consent mode, retention and
// the quota are account settings (R-REC), changed through the API.
type Recording struct {
	// Dir holds the recording and voicemail files. Default "" = DataDir/recordings.
	Dir string `yaml:"dir" json:"dir"`
	// SaveWindow is how long after a call ends a user may still save its recording when the account does
	// not save recordings by default; after it the file is deleted. At least 1m. Default 24h.
	SaveWindow Duration `yaml:"save_window" json:"save_window"`
	// SweepInterval is how often expired and unsaved recordings are deleted. At least 1s. Default 1m.
	SweepInterval Duration `yaml:"sweep_interval" json:"sweep_interval"`
	// TwoPartyRegions are the regions (US states, Canadian provinces: two-letter codes) whose callers hear
	// the consent prompt when the account's consent_prompt setting is "two_party". Callers whose region
	// cannot be told (foreign or withheld numbers) hear it too. Default: the usual all-party-consent states
	// CA, CT, DE, FL, IL, MD, MA, MI, MT, NV, NH, PA, WA (DefaultTwoPartyRegions).
	TwoPartyRegions []string `yaml:"two_party_regions" json:"two_party_regions"`
	// AreaCodes is a CSV file (area_code,region,country) replacing the shipped North American area-code
	// table. Default "" = the shipped table.
	AreaCodes string `yaml:"area_codes" json:"area_codes"`
}

// Voicemail configures the voicemail the caller reaches when the agent does not answer (R-IN-4); the
// account setting voicemail turns it on or off.
type Voicemail struct {
	// MaxLength is the longest message; the caller hears a tone and the call ends after it. 10s to 1h.
	// Default 3m.
	MaxLength Duration `yaml:"max_length" json:"max_length"`
	// GreetingsDir holds per-user greetings as <username>.wav (8 kHz mono WAV: 16-bit PCM, A-law or
	// µ-law); a user without a file gets prompts.voicemail_greeting. Default "" = no per-user greetings.
	GreetingsDir string `yaml:"greetings_dir" json:"greetings_dir"`
	// MWI sends a message-summary NOTIFY (RFC 3842) to the user's registered phones when a message
	// arrives, so their message light turns on. Default true.
	MWI bool `yaml:"mwi" json:"mwi"`
}

// Prompts names files (8 kHz mono WAV: 16-bit PCM, A-law or µ-law) that replace shipped prompts. An
// empty path keeps the shipped prompt.
type Prompts struct {
	Consent           string `yaml:"consent" json:"consent"`                       // before a recorded call is bridged (R-REC-3)
	Whisper           string `yaml:"whisper" json:"whisper"`                       // "press 1 to accept", for numbers without a role
	WhisperBuyer      string `yaml:"whisper_buyer" json:"whisper_buyer"`           // the same for the buyer line
	WhisperSeller     string `yaml:"whisper_seller" json:"whisper_seller"`         // the seller (listing) line
	WhisperLender     string `yaml:"whisper_lender" json:"whisper_lender"`         // the lender line
	VoicemailGreeting string `yaml:"voicemail_greeting" json:"voicemail_greeting"` // for users without a greeting of their own
	CannotComplete    string `yaml:"cannot_complete" json:"cannot_complete"`       // a call that cannot go anywhere
	NotRecorded       string `yaml:"not_recorded" json:"not_recorded"`             // reserved: told when the quota is full
	Goodbye           string `yaml:"goodbye" json:"goodbye"`                       // before the gateway hangs up
}

// Files returns the replaced prompts by name (the names of media/prompts).
func (p Prompts) Files() map[string]string {
	m := map[string]string{}
	for name, path := range map[string]string{
		"consent": p.Consent, "whisper": p.Whisper, "whisper_buyer": p.WhisperBuyer,
		"whisper_seller": p.WhisperSeller, "whisper_lender": p.WhisperLender,
		"voicemail_greeting": p.VoicemailGreeting, "cannot_complete": p.CannotComplete,
		"not_recorded": p.NotRecorded, "goodbye": p.Goodbye,
	} {
		if path != "" {
			m[name] = path
		}
	}
	return m
}

// DefaultTwoPartyRegions (recording.two_party_regions by default) is the list of US states that call-recording products
// commonly treat as requiring the consent of every party to record a phone
// call. Some entries are debated, and it is kept broad on purpose since a
// needless prompt costs a few seconds while a missing one can be unlawful:
//   - CT: all-party consent is required for civil liability only
//     (Conn. Gen. Stat. 52-570d); listed.
//   - DE, MI: the law is read both ways (conflicting statutes in DE, a
//     court letting a participant record in MI); listed.
//   - NV: the statute says one party, the state supreme court read it as
//     all-party for phone calls; listed.
//   - OR is left out: it requires all-party consent for in-person
//     conversations, one-party for telephone calls (ORS 165.540).
//   - Canada is one-party (Criminal Code s. 184), so no province is listed;
//     an account that wants the prompt for everybody chooses "all" instead.
var DefaultTwoPartyRegions = []string{"CA", "CT", "DE", "FL", "IL", "MD", "MA", "MI", "MT", "NV", "NH", "PA", "WA"}

func defaultRecording() Recording {
	return Recording{
		SaveWindow:      Duration(24 * time.Hour),
		SweepInterval:   Duration(time.Minute),
		TwoPartyRegions: slices.Clone(DefaultTwoPartyRegions),
	}
}

func defaultVoicemail() Voicemail {
	return Voicemail{MaxLength: Duration(3 * time.Minute), MWI: true}
}

func (v *validator) recording(r *Recording) {
	if r.SaveWindow < Duration(time.Minute) {
		v.add("recording.save_window", "%s: must be at least 1m", time.Duration(r.SaveWindow))
	}
	if r.SweepInterval < Duration(time.Second) {
		v.add("recording.sweep_interval", "%s: must be at least 1s", time.Duration(r.SweepInterval))
	}
	for i, reg := range r.TwoPartyRegions {
		if !regionRE.MatchString(reg) {
			v.add(fmt.Sprintf("recording.two_party_regions[%d]", i), "%q: want a two-letter region code in upper case, e.g. CA", reg)
		}
	}
	if r.AreaCodes != "" {
		v.file("recording.area_codes", r.AreaCodes, "")
	}
}

func (v *validator) voicemail(m *Voicemail) {
	if m.MaxLength < Duration(10*time.Second) || m.MaxLength > Duration(time.Hour) {
		v.add("voicemail.max_length", "%s: must be 10s to 1h", time.Duration(m.MaxLength))
	}
}

func (v *validator) prompts(p Prompts) {
	files := p.Files()
	for _, n := range slices.Sorted(maps.Keys(files)) {
		v.file("prompts."+n, files[n], "")
	}
}

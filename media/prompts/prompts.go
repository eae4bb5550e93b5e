// Package prompts ships the gateway's built-in voice prompts: 8 kHz mono
// G.711 u-law WAV files made from text by scripts/make-prompts.sh and
// embedded in the binary. The caller decodes them (media.ReadWAV); this
// package only names and hands out the bytes, and imports nothing of media.
// Operators replace prompts with files of their own through the prompts
// section of the configuration; see README.md.
package prompts

import (
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The names of the prompts; whisper_buyer, whisper_seller and
// whisper_lender come from WhisperFor.
const (
	Consent           = "consent"            // "This call may be recorded for quality and training purposes."
	Whisper           = "whisper"            // "Incoming Teamline call. Press 1 to accept."
	VoicemailGreeting = "voicemail_greeting" // "The person you are calling is not available. ..."
	CannotComplete    = "cannot_complete"    // "Sorry, this call cannot be completed. ..."
	NotRecorded       = "not_recorded"       // "This call is not being recorded."
	Goodbye           = "goodbye"            // "Goodbye."
)

// ErrUnknownPrompt is returned (wrapped) by Bytes for a name that is not a
// shipped prompt.
var ErrUnknownPrompt = errors.New("prompts: unknown prompt")

//go:embed *.wav
var files embed.FS

// WhisperFor returns the name of the whisper prompt an agent hears for a
// call to a line of the given role: "buyer", "seller" (also "listing") and
// "lender" have their own; any other role, or none, gets the generic
// Whisper. The role is matched without regard to case.
func WhisperFor(role string) string {
	switch strings.ToLower(strings.TrimSpace(role)) {
	case "buyer":
		return "whisper_buyer"
	case "seller", "listing":
		return "whisper_seller"
	case "lender":
		return "whisper_lender"
	}
	return Whisper
}

// Names returns the names of all shipped prompts, sorted.
func Names() []string {
	entries, err := files.ReadDir(".")
	if err != nil {
		panic("prompts: embedded files: " + err.Error()) // cannot happen with embed.FS
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".wav"))
	}
	slices.Sort(names)
	return names
}

// Bytes returns the WAV file of the named prompt. The slice is the caller's
// own copy. A name that is not shipped gives an error wrapping
// ErrUnknownPrompt.
func Bytes(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, fmt.Errorf("%w %q", ErrUnknownPrompt, name)
	}
	b, err := files.ReadFile(name + ".wav")
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownPrompt, name)
	}
	return b, nil
}

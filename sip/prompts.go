package sip

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/teamline/teamline/media"
	"github.com/teamline/teamline/media/prompts"
)

// Prompts is the audio the gateway plays: the shipped prompts, each
// replaceable by a file, and per-user voicemail greetings.
type Prompts struct {
	pcm          map[string][]int16
	greetingsDir string
}

// LoadPrompts decodes every shipped prompt, replacing those named in files
// (prompt name -> WAV path). greetingsDir holds <username>.wav voicemail
// greetings ("" = none). A file that cannot be read is an error: a
// gateway should not start with a prompt it cannot play.
func LoadPrompts(files map[string]string, greetingsDir string) (*Prompts, error) {
	p := &Prompts{pcm: map[string][]int16{}, greetingsDir: greetingsDir}
	for _, name := range prompts.Names() {
		var pcm []int16
		var err error
		if path := files[name]; path != "" {
			pcm, err = media.LoadWAV(path)
		} else {
			var b []byte
			if b, err = prompts.Bytes(name); err == nil {
				pcm, err = media.ReadWAV(bytes.NewReader(b))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sip: prompt %s: %w", name, err)
		}
		p.pcm[name] = pcm
	}
	for name := range files {
		if _, ok := p.pcm[name]; !ok {
			return nil, fmt.Errorf("sip: no prompt is called %q", name)
		}
	}
	return p, nil
}

// Source returns a prompt ready to play; a name without audio plays as
// half a second of silence rather than failing the call.
func (p *Prompts) Source(name string) media.Source {
	if p != nil {
		if pcm := p.pcm[name]; len(pcm) > 0 {
			return media.NewPCMSource(pcm)
		}
	}
	return media.Silence(500 * time.Millisecond)
}

// safeUsername: usernames become file names only when they cannot walk out
// of the greetings directory.
var safeUsername = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Greeting returns the user's own voicemail greeting when there is a
// readable one, else the shipped (or replaced) greeting.
func (p *Prompts) Greeting(username string) (src media.Source, own bool) {
	if p != nil && p.greetingsDir != "" && safeUsername.MatchString(username) && username[0] != '.' {
		if pcm, err := media.LoadWAV(filepath.Join(p.greetingsDir, username+".wav")); err == nil && len(pcm) > 0 {
			return media.NewPCMSource(pcm), true
		}
	}
	return p.Source(prompts.VoicemailGreeting), false
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teamline/teamline/recording"
	"github.com/teamline/teamline/recording/jurisdiction"
	"github.com/teamline/teamline/sip"
)

// recordingsDir is where recordings and voicemail go: recording.dir, else
// data_dir/recordings.
func (a *app) recordingsDir() string {
	if a.cfg.Recording.Dir != "" {
		return a.cfg.Recording.Dir
	}
	return filepath.Join(a.cfg.DataDir, "recordings")
}

// newRecordings starts the recording service: the files, their index in the
// store, retention and the quota, under the account's settings (R-REC), as
// a.recordings.
func (a *app) newRecordings(reg prometheus.Registerer) error {
	cfg := a.cfg.Recording
	policy := func(ctx context.Context) (recording.Policy, error) {
		st, err := a.calls.GetSettings(ctx) // per recorded call: from the cache
		if err != nil {
			return recording.Policy{}, err
		}
		return recording.Policy{
			Enabled:       st.RecordingEnabled,
			SaveByDefault: st.RecordingSaveDefault,
			SaveWindow:    time.Duration(cfg.SaveWindow),
			Retention:     time.Duration(st.RetentionDays) * 24 * time.Hour,
			QuotaBytes:    st.StorageQuotaMB << 20,
		}, nil
	}
	svc, err := recording.NewService(a.store, a.recordingsDir(), policy,
		recording.WithLogger(a.log),
		recording.WithRegisterer(reg),
		recording.WithSweepInterval(time.Duration(cfg.SweepInterval)))
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	a.closers = append(a.closers, svc.Close)
	a.recordings = svc
	return nil
}

// consentPolicy decides who hears the consent prompt under two_party: the
// configured regions over the shipped or configured area-code table.
func (a *app) consentPolicy() (*jurisdiction.Policy, error) {
	cfg := a.cfg.Recording
	table := jurisdiction.Default()
	if cfg.AreaCodes != "" {
		f, err := os.Open(cfg.AreaCodes)
		if err != nil {
			return nil, fmt.Errorf("recording.area_codes: %w", err)
		}
		defer f.Close()
		if table, err = jurisdiction.Load(f); err != nil {
			return nil, fmt.Errorf("recording.area_codes: %s: %w", cfg.AreaCodes, err)
		}
	}
	p, err := jurisdiction.NewPolicy(table, cfg.TwoPartyRegions)
	if err != nil {
		return nil, fmt.Errorf("recording.two_party_regions: %w", err)
	}
	return p, nil
}

// mediaServices completes the backend with prompts, recordings, consent and
// voicemail.
func (a *app) mediaServices(b *sip.Backend) error {
	p, err := sip.LoadPrompts(a.cfg.Prompts.Files(), a.cfg.Voicemail.GreetingsDir)
	if err != nil {
		return err
	}
	consent, err := a.consentPolicy()
	if err != nil {
		return err
	}
	b.Prompts, b.Consent, b.Recordings, b.RecordingIndex = p, consent, a.recordings, a.store
	b.Calls.AcceptTimeout = time.Duration(a.cfg.Calls.AcceptTimeout)
	b.Voicemail = sip.VoicemailConfig{MaxLength: time.Duration(a.cfg.Voicemail.MaxLength), MWI: a.cfg.Voicemail.MWI}
	return nil
}

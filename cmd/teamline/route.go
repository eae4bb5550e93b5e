package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/teamline/teamline/api"
	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/router"
)

// cmdRoute explains the routing decision for a call or text that did not
// happen (R-RULE-9): nothing is created, no rotation advances, nothing
// lands in the inbox. A decision, a rejection included, exits 0.
func cmdRoute(ctx context.Context, args []string, c *cli) error {
	fs := newFlags("route", c)
	cfgPath := configFlag(fs)
	from := fs.String("from", "", "the caller's `NUMBER`; empty or not a number is an anonymous caller")
	to := fs.String("to", "", "the team's `NUMBER` called or texted (required)")
	at := fs.String("at", "", "when, as RFC 3339 `TIME` such as 2026-11-22T20:30:00-05:00 (default now)")
	kind := fs.String("kind", "call", "call or text")
	asJSON := fs.Bool("json", false, "print the decision as JSON (as GET /api/v1/route/explain answers)")
	if err := parse(fs, args); err != nil {
		return err
	}
	req := router.Request{Kind: router.Kind(*kind), Explain: true}
	if req.Kind != router.KindCall && req.Kind != router.KindText {
		fmt.Fprintf(c.stderr, "teamline route: -kind %q: want call or text\n", *kind)
		return errUsage
	}
	if strings.TrimSpace(*to) == "" {
		fmt.Fprintln(c.stderr, "teamline route: -to NUMBER is required")
		return errUsage
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(c.stderr, "teamline route: -at %q: want an RFC 3339 time such as 2026-11-22T20:30:00-05:00\n", *at)
			return errUsage
		}
		req.At = t
	}
	return useApp(ctx, *cfgPath, config.SecretDatabase, c, func(a *app) error {
		var err error
		if req.To, err = a.dir.NormalizePhone(*to); err != nil {
			return fmt.Errorf("-to %q: %w", *to, err)
		}
		// As the SIP side does: a caller that is no phone number is routed
		// as it came (anonymous).
		req.From = strings.TrimSpace(*from)
		if e, err := a.dir.NormalizePhone(req.From); err == nil {
			req.From = e
		}
		d, err := router.New(a.dir, a.store, router.WithLogger(a.log)).Route(ctx, req)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(api.Explain(d))
		}
		_, err = fmt.Fprint(c.stdout, d.Explain())
		return err
	})
}

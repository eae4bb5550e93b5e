package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)".
var (
	version = ""
	commit  = ""
)

// buildVersion returns the version and commit, from the link flags or, for
// `go install`ed builds, from the module build information.
func buildVersion() (v, c string) {
	v, c = version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func cmdVersion(_ context.Context, args []string, c *cli) error {
	fs := newFlags("version", c)
	if err := parse(fs, args); err != nil {
		return err
	}
	v, rev := buildVersion()
	fmt.Fprintf(c.stdout, "teamline %s (commit %s, %s)\n", v, rev, runtime.Version())
	return nil
}

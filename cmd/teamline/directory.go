package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/directory"
)

func cmdApply(ctx context.Context, args []string, c *cli) error {
	fs := newFlags("apply", c)
	cfgPath := configFlag(fs)
	file := fs.String("f", "", "directory `FILE` to apply (- for standard input)")
	dry := fs.Bool("dry-run", false, "show what would change, change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintln(c.stderr, "teamline apply: -f FILE is required")
		return errUsage
	}
	var r io.Reader = c.stdin
	if *file != "-" {
		fh, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	f, err := directory.ParseFile(r)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	return useApp(ctx, *cfgPath, config.SecretDatabase, c, func(a *app) error {
		plan, err := a.dir.Apply(ctx, f, *dry)
		if err != nil {
			return fmt.Errorf("%s: %w (nothing was changed)", *file, err)
		}
		for _, ch := range plan {
			fmt.Fprintln(c.stdout, ch)
		}
		if *dry {
			fmt.Fprintf(c.stdout, "dry run: would be %s\n", plan.Summary())
		} else {
			fmt.Fprintln(c.stdout, plan.Summary())
		}
		return nil
	})
}

func cmdExport(ctx context.Context, args []string, c *cli) error {
	fs := newFlags("export", c)
	cfgPath := configFlag(fs)
	out := fs.String("o", "-", "write to `FILE` (- for standard output)")
	return withApp(ctx, fs, cfgPath, args, c, func(a *app) error {
		data, err := a.dir.Export(ctx)
		if err != nil {
			return err
		}
		if *out == "-" {
			_, err = c.stdout.Write(data)
			return err
		}
		// The file holds SIP digest hashes: readable by the owner only.
		return os.WriteFile(*out, data, 0o600)
	})
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// newFlags returns a flag set that writes to the command's stderr.
func newFlags(name string, c *cli) *flag.FlagSet {
	fs := flag.NewFlagSet("teamline "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// configFlag adds -c, defaulting to $TEAMLINE_CONFIG.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("c", os.Getenv("TEAMLINE_CONFIG"), "config `FILE` (default: embedded defaults; env TEAMLINE_CONFIG)")
}

// parse parses flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

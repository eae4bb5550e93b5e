// Command teamline is the Teamline gateway: one binary that serves SIP,
// media and the admin API, and manages the team's directory from the shell.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // time zones for routing windows on hosts without tzdata
)

const usage = `Teamline: a SIP gateway for sales teams.

Usage:
  teamline serve   [-c FILE]                 run the gateway
  teamline migrate [-c FILE]                 bring the database schema up to date
  teamline apply   [-c FILE] -f FILE [--dry-run]   make the directory match a file
  teamline export  [-c FILE] [-o FILE]       write the directory as a file
  teamline user    add|list [flags]          manage users
  teamline number  add|list [flags]          manage numbers
  teamline lead    add|list [flags]          manage leads
  teamline token   create|list [flags]       manage API tokens
  teamline route   [-c FILE] --to N [--from N] [--at T] [--kind call|text] [--json]
                                             explain who would get a call or text
  teamline version                           print version and commit

Every command takes -c FILE (or the environment variable TEAMLINE_CONFIG);
without one, the embedded defaults apply. "teamline COMMAND -h" lists flags.
`

// exitUsage is the exit code for a command line that cannot be run.
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func(context.Context, []string, *cli) error{
		"serve":   cmdServe,
		"migrate": cmdMigrate,
		"apply":   cmdApply,
		"export":  cmdExport,
		"user":    cmdUser,
		"number":  cmdNumber,
		"lead":    cmdLead,
		"token":   cmdToken,
		"route":   cmdRoute,
		"version": cmdVersion,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "teamline: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	err := cmd(ctx, args[1:], c)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		fmt.Fprintf(stderr, "teamline %s: %v\n", name, err)
		return 1
	}
}

// cli carries a command's standard streams.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// errUsage: the flags were wrong; the flag package already said why.
var errUsage = errors.New("usage")

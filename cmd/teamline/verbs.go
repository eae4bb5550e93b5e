package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/teamline/teamline/config"
	"github.com/teamline/teamline/directory"
)

// verb dispatches "teamline NOUN VERB ...".
func verb(noun string, args []string, verbs map[string]func() error, c *cli) error {
	if len(args) == 0 {
		fmt.Fprintf(c.stderr, "teamline %s: say what to do: %s\n", noun, strings.Join(keys(verbs), ", "))
		return errUsage
	}
	fn, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "teamline %s: unknown verb %q (%s)\n", noun, args[0], strings.Join(keys(verbs), ", "))
		return errUsage
	}
	return fn()
}

func keys(m map[string]func() error) []string {
	var out []string
	for _, k := range []string{"add", "create", "list"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// withApp parses flags, opens the app and runs fn, for the commands that
// use the database only: of the secrets, only the database DSN is read.
func withApp(ctx context.Context, fs *flag.FlagSet, cfgPath *string, args []string, c *cli, fn func(*app) error) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	return useApp(ctx, *cfgPath, config.SecretDatabase, c, fn)
}

func table(w io.Writer, header string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	tw.Flush()
}

func cmdUser(ctx context.Context, args []string, c *cli) error {
	return verb("user", args, map[string]func() error{
		"add": func() error {
			fs := newFlags("user add", c)
			cfgPath := configFlag(fs)
			var u directory.User
			role := fs.String("role", "agent", "primary_manager, manager or agent")
			fs.StringVar(&u.Username, "username", "", "login and SIP user name (required)")
			fs.StringVar(&u.Name, "name", "", "display name (required)")
			fs.StringVar(&u.Email, "email", "", "email address")
			fs.StringVar(&u.CellPhone, "cell", "", "cell phone number")
			fs.BoolVar(&u.DialerAccess, "dialer", false, "allow calls and texts out")
			fs.StringVar(&u.DefaultNumber, "default-number", "", "default outbound number")
			pwFile := fs.String("sip-password-file", "", "read the SIP password from `FILE`")
			pwStdin := fs.Bool("sip-password-stdin", false, "read the SIP password from standard input")
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				u.Role = directory.Role(*role)
				pw, err := readSecret(*pwFile, *pwStdin, c.stdin)
				if err != nil {
					return err
				}
				u.SIPPassword = pw
				got, err := a.dir.CreateUser(ctx, u)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "created user %s (id %d, %s, SIP login %s)\n", got.Username, got.ID, got.Role, onOff(got.SIPEnabled))
				return nil
			})
		},
		"list": func() error {
			fs := newFlags("user list", c)
			cfgPath := configFlag(fs)
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				us, err := a.dir.ListUsers(ctx, directory.Page{})
				if err != nil {
					return err
				}
				table(c.stdout, "ID\tUSERNAME\tNAME\tROLE\tSIP\tDIALER\tDEFAULT NUMBER", func(tw io.Writer) {
					for _, u := range us {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Name, u.Role, onOff(u.SIPEnabled), onOff(u.DialerAccess), u.DefaultNumber)
					}
				})
				return nil
			})
		},
	}, c)
}

func cmdNumber(ctx context.Context, args []string, c *cli) error {
	return verb("number", args, map[string]func() error{
		"add": func() error {
			fs := newFlags("number add", c)
			cfgPath := configFlag(fs)
			var n directory.Number
			kind := fs.String("kind", "", "role, personal or catch_all (required)")
			fs.StringVar(&n.E164, "number", "", "the phone number, any common form (required)")
			fs.StringVar(&n.Role, "role", "", "role of a role number: buyer, seller, lender, ...")
			fs.StringVar(&n.Owner, "owner", "", "username owning a personal number")
			fs.StringVar(&n.Label, "label", "", "free label")
			fs.StringVar(&n.Trunk, "trunk", "", "trunk the number arrives on")
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				n.Kind = directory.NumberKind(*kind)
				got, err := a.dir.CreateNumber(ctx, n)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "created number %s (id %d, %s)\n", got.E164, got.ID, describeNumber(got))
				return nil
			})
		},
		"list": func() error {
			fs := newFlags("number list", c)
			cfgPath := configFlag(fs)
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				ns, err := a.dir.ListNumbers(ctx, directory.NumberFilter{})
				if err != nil {
					return err
				}
				table(c.stdout, "ID\tNUMBER\tKIND\tLABEL", func(tw io.Writer) {
					for _, n := range ns {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", n.ID, n.E164, describeNumber(n), n.Label)
					}
				})
				return nil
			})
		},
	}, c)
}

func describeNumber(n directory.Number) string {
	switch n.Kind {
	case directory.KindRole:
		return "role " + n.Role
	case directory.KindPersonal:
		return "personal of " + n.Owner
	}
	return string(n.Kind)
}

func cmdLead(ctx context.Context, args []string, c *cli) error {
	return verb("lead", args, map[string]func() error{
		"add": func() error {
			fs := newFlags("lead add", c)
			cfgPath := configFlag(fs)
			var l directory.Lead
			var phones, tags, agents listFlag
			fs.Var(&phones, "phone", "phone number (repeat for several; at least one)")
			fs.Var(&tags, "tag", "tag (repeat for several)")
			fs.Var(&agents, "agent", "assignment ROLE=USERNAME, e.g. buyer=alice (repeat per role)")
			fs.StringVar(&l.Name, "name", "", "name")
			fs.StringVar(&l.Email, "email", "", "email")
			fs.StringVar(&l.Source, "source", "", "where the lead came from")
			typ := fs.String("type", "", "buyer, seller or both")
			fs.StringVar(&l.City, "city", "", "city")
			fs.StringVar(&l.PostalCode, "postal-code", "", "postal code")
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				l.Phones, l.Tags, l.Type = phones, tags, directory.LeadType(*typ)
				for _, as := range agents {
					role, user, ok := strings.Cut(as, "=")
					if !ok {
						return fmt.Errorf("-agent %q: want ROLE=USERNAME", as)
					}
					if l.Agents == nil {
						l.Agents = map[string]string{}
					}
					l.Agents[role] = user
				}
				got, err := a.dir.CreateLead(ctx, l)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "created lead %d (%s)\n", got.ID, strings.Join(got.Phones, ", "))
				return nil
			})
		},
		"list": func() error {
			fs := newFlags("lead list", c)
			cfgPath := configFlag(fs)
			var f directory.LeadFilter
			fs.StringVar(&f.Phone, "phone", "", "only the lead with this phone")
			fs.StringVar(&f.Agent, "agent", "", "only leads assigned to this username")
			fs.StringVar(&f.Query, "q", "", "only leads whose name contains this")
			fs.IntVar(&f.Limit, "limit", 100, "at most this many (0 = all)")
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				ls, err := a.dir.ListLeads(ctx, f)
				if err != nil {
					return err
				}
				table(c.stdout, "ID\tPHONES\tNAME\tTYPE\tAGENTS", func(tw io.Writer) {
					for _, l := range ls {
						var as []string
						for r, u := range l.Agents {
							as = append(as, r+"="+u)
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", l.ID, strings.Join(l.Phones, ","), l.Name, l.Type, strings.Join(as, ","))
					}
				})
				return nil
			})
		},
	}, c)
}

func cmdToken(ctx context.Context, args []string, c *cli) error {
	return verb("token", args, map[string]func() error{
		"create": func() error {
			fs := newFlags("token create", c)
			cfgPath := configFlag(fs)
			user := fs.String("user", "admin", "username the token acts as")
			name := fs.String("name", "", "what the token is for (required)")
			ttl := fs.Duration("expires", 0, "lifetime, e.g. 720h (0 = no expiry)")
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				t, secret, err := a.dir.CreateToken(ctx, *user, *name, *ttl)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "created token %d %q for %s; it is shown once:\n", t.ID, t.Name, t.User)
				fmt.Fprintln(c.stdout, secret)
				return nil
			})
		},
		"list": func() error {
			fs := newFlags("token list", c)
			cfgPath := configFlag(fs)
			return withApp(ctx, fs, cfgPath, args[1:], c, func(a *app) error {
				ts, err := a.dir.ListTokens(ctx)
				if err != nil {
					return err
				}
				table(c.stdout, "ID\tNAME\tUSER\tPREFIX\tCREATED\tLAST USED\tEXPIRES", func(tw io.Writer) {
					for _, t := range ts {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.User, t.Prefix, t.CreatedAt.Format(time.RFC3339), when(t.LastUsedAt), when(t.ExpiresAt))
					}
				})
				return nil
			})
		},
	}, c)
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func onOff(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// readSecret reads a secret from a file or stdin (never from the command
// line, where other users of the host see it in the process list).
func readSecret(file string, stdin bool, in io.Reader) (string, error) {
	switch {
	case file != "" && stdin:
		return "", fmt.Errorf("give the password by file or by standard input, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case stdin:
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	return "", nil
}

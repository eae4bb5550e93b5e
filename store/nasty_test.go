package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

// short cuts s to n runes (for the columns with a size limit).
func short(s string, n int) string {
	r := []rune(s)
	return string(r[:min(n, len(r))])
}

func TestMetacharactersRoundTrip(t *testing.T) {
	run(t, func(t *testing.T, s *store.Store) {
		for i, v := range nasty {
			u := directory.User{Username: v, Name: v, Email: v, Role: directory.Role(v), CellPhone: short(v, 32),
				DefaultNumber: "", SIP: &directory.SIPCredential{Realm: v, HA1MD5: v, HA1SHA256: v}}
			must(t, s.CreateUser(ctx, &u))
			u.SIPEnabled = true
			same(t, "user", get(s.GetUserByUsername(ctx, v))(t), u)

			n := directory.Number{E164: short(fmt.Sprint(i, v), 32), Kind: directory.NumberKind(short(v, 32)),
				Role: v, Owner: v, Label: v, Trunk: v}
			must(t, s.CreateNumber(ctx, &n))
			same(t, "number", get(s.GetNumberByE164(ctx, n.E164))(t), n)
			same(t, "numbers by owner", get(s.ListNumbers(ctx, directory.NumberFilter{Owner: v}))(t), []directory.Number{n})
			same(t, "numbers by role", get(s.ListNumbers(ctx, directory.NumberFilter{Role: v}))(t), []directory.Number{n})

			l := directory.Lead{Phones: []string{short(fmt.Sprint("p", i, v), 32)}, Name: v, Email: v,
				Source: v, Tags: []string{v, v}, Type: directory.LeadType(short(v, 32)), City: v, County: v,
				Neighborhood: v, PostalCode: v, PropertyType: v, Site: v, Region: v, Agents: map[string]string{v: v}}
			must(t, s.CreateLead(ctx, &l))
			same(t, "lead", get(s.GetLeadByPhone(ctx, l.Phones[0]))(t), l)
			same(t, "leads by query", get(s.ListLeads(ctx, directory.LeadFilter{Query: v}))(t), []directory.Lead{l})
			same(t, "leads by agent", get(s.ListLeads(ctx, directory.LeadFilter{Agent: v}))(t), []directory.Lead{l})

			r := directory.Rule{Name: v, Distribution: directory.Distribution(short(v, 32)),
				Criteria: directory.Criteria{Sources: []string{v}, Tags: []string{v}, Cities: []string{v},
					Counties: []string{v}, Neighborhoods: []string{v}, PostalCodes: []string{v},
					LeadTypes: []directory.LeadType{directory.LeadType(v)}, Regions: []string{v},
					PropertyTypes: []string{v}, Sites: []string{v}},
				Windows: []directory.Window{{Days: []string{v}, Start: short(v, 16), End: short(v, 16)}},
				Agents:  []directory.RuleAgent{{User: v, LeadsPerRound: i}},
				Lenders: []directory.RuleAgent{{User: v, LeadsPerRound: i}}}
			must(t, s.CreateRule(ctx, &r))
			same(t, "rule", get(s.GetRuleByName(ctx, v))(t), r)

			tok := directory.Token{Name: v, User: v, Prefix: short(v, 32)}
			must(t, s.CreateToken(ctx, &tok, []byte(v)))
			same(t, "token", get(s.GetTokenByHash(ctx, []byte(v)))(t), tok)
		}
		// The tables are all still there.
		if n := get(s.ListUsers(ctx, directory.Page{}))(t); len(n) != len(nasty) {
			t.Errorf("%d users", len(n))
		}
		// A pattern that would match everything unescaped matches one lead.
		same(t, "query %", len(get(s.ListLeads(ctx, directory.LeadFilter{Query: "%"}))(t)), 1)
		same(t, "query _", len(get(s.ListLeads(ctx, directory.LeadFilter{Query: "_"}))(t)), 1)
	})
}

func TestTooLong(t *testing.T) {
	// Both backends refuse the same sizes.
	run(t, func(t *testing.T, s *store.Store) {
		long := strings.Repeat("é", 256)
		u := directory.User{Username: long}
		isErr(t, s.CreateUser(ctx, &u), store.ErrTooLong, "username")
		u = directory.User{Username: strings.Repeat("é", 255), Name: strings.Repeat("ü", 10000)}
		must(t, s.CreateUser(ctx, &u))
		l := directory.Lead{Phones: []string{strings.Repeat("1", 33)}}
		if err := s.CreateLead(ctx, &l); !errors.Is(err, store.ErrTooLong) {
			t.Errorf("33 character phone: %v", err)
		}
	})
}

// TestBackendsAgree stores the same objects with the same clock on every
// backend and expects identical reads, times included.
func TestBackendsAgree(t *testing.T) {
	drivers := storetest.Drivers()
	if len(drivers) < 2 {
		t.Skip("needs " + storetest.EnvMySQL)
	}
	type result struct {
		users  []directory.User
		leads  []directory.Lead
		rules  []directory.Rule
		nums   []directory.Number
		tokens []directory.Token
	}
	var results []result
	for _, d := range drivers {
		s := storetest.Open(t, d, store.WithClock(newClock().Now))
		for _, name := range []string{"alice", "bob", "carol"} {
			user(t, s, name)
		}
		number(t, s, "+15550000001", "alice")
		l := fullLead()
		must(t, s.CreateLead(ctx, &l))
		r := fullRule()
		must(t, s.CreateRule(ctx, &r))
		tok := directory.Token{Name: "t", User: "bob", Prefix: "p", ExpiresAt: ptr(newClock().Now())}
		must(t, s.CreateToken(ctx, &tok, []byte("h")))
		must(t, s.TouchToken(ctx, tok.ID, newClock().Now()))
		results = append(results, result{
			users:  get(s.ListUsers(ctx, directory.Page{}))(t),
			leads:  get(s.ListLeads(ctx, directory.LeadFilter{}))(t),
			rules:  get(s.ListRules(ctx))(t),
			nums:   get(s.ListNumbers(ctx, directory.NumberFilter{}))(t),
			tokens: get(s.ListTokens(ctx, ""))(t),
		})
	}
	for i := 1; i < len(results); i++ {
		same(t, drivers[i]+" vs "+drivers[0], results[i], results[0])
	}
}

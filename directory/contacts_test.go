package directory_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store/storetest"
)

// TestRegistrations walks the location service the way the registrar uses
// it (RFC 3261 10.3), through the directory.Contacts interface only, on
// every test database.
func TestRegistrations(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			svc, st := newService(t, driver)
			var loc directory.Contacts = st
			alice, err := svc.CreateUser(ctx, directory.User{Username: "alice", Name: "Alice", Role: directory.RoleAgent, SIPPassword: "alice-secret-1"})
			if err != nil {
				t.Fatal(err)
			}
			list := func(at time.Time) []string {
				t.Helper()
				cs, err := loc.ListContacts(ctx, "alice", at)
				if err != nil {
					t.Fatal(err)
				}
				uris := []string{}
				for _, c := range cs {
					uris = append(uris, c.URI)
				}
				return uris
			}
			want := func(what string, got, want []string) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %q, want %q", what, got, want)
				}
			}
			register := func(uri, node string, cseq uint32, expires time.Duration) directory.Contact {
				t.Helper()
				c := directory.Contact{Username: "alice", URI: uri, Source: "udp:203.0.113.5:5062", CallID: "reg1",
					CSeq: cseq, UserAgent: "Zoiper", Node: node, Expires: now.Add(expires), UpdatedAt: now}
				if err := loc.PutContact(ctx, &c); err != nil {
					t.Fatal(err)
				}
				return c
			}

			// A softphone and a desk phone on two gateways.
			soft := register("sip:alice@192.0.2.7:5062", "gw1", 1, time.Hour)
			register("sip:alice@192.0.2.9", "gw2", 1, 10*time.Minute)
			want("registered", list(now), []string{"sip:alice@192.0.2.7:5062", "sip:alice@192.0.2.9"})

			// A refresh keeps the binding and its place.
			again := register("sip:alice@192.0.2.7:5062", "gw1", 2, 2*time.Hour)
			if again.ID != soft.ID {
				t.Errorf("refresh moved the binding from %d to %d", soft.ID, again.ID)
			}
			if cs, _ := loc.ListNodeContacts(ctx, "gw1", now); len(cs) != 1 || cs[0].CSeq != 2 {
				t.Errorf("gw1's bindings: %+v", cs)
			}

			// The desk phone's binding runs out and is swept.
			later := now.Add(10 * time.Minute)
			want("after the desk phone expired", list(later), []string{"sip:alice@192.0.2.7:5062"})
			if n, err := loc.CountContacts(ctx, later); err != nil || n != 1 {
				t.Errorf("CountContacts = %d, %v", n, err)
			}
			if n, err := loc.ExpireContacts(ctx, later); err != nil || n != 1 {
				t.Errorf("ExpireContacts = %d, %v", n, err)
			}

			// Expires: 0 for one binding, then Contact: * for all.
			if err := loc.DeleteContact(ctx, "alice", "sip:alice@192.0.2.7:5062"); err != nil {
				t.Fatal(err)
			}
			want("after Expires: 0", list(now), []string{})
			register("sip:alice@192.0.2.7:5062", "gw1", 3, time.Hour)
			register("sip:alice@192.0.2.8", "gw1", 3, time.Hour)
			if n, err := loc.DeleteContacts(ctx, "alice"); err != nil || n != 2 {
				t.Errorf("DeleteContacts = %d, %v", n, err)
			}

			// A REGISTER for no user, and one whose user is deleted.
			ghost := directory.Contact{Username: "ghost", URI: "sip:ghost@192.0.2.1", Expires: now.Add(time.Hour)}
			if err := loc.PutContact(ctx, &ghost); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("unknown user: %v, want ErrNotFound", err)
			}
			register("sip:alice@192.0.2.7:5062", "gw1", 4, time.Hour)
			if err := svc.DeleteUser(ctx, alice.ID); err != nil {
				t.Fatal(err)
			}
			if n, err := loc.CountContacts(ctx, now); err != nil || n != 0 {
				t.Errorf("bindings of a deleted user: %d, %v", n, err)
			}
		})
	}
}

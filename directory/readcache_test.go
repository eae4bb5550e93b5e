package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/teamline/teamline/directory"
	"github.com/teamline/teamline/store"
	"github.com/teamline/teamline/store/storetest"
)

func TestReadCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		phones, _ := directory.NewPhones("US")
		svc := directory.NewService(st, phones)
		// A second process on the same database.
		other := directory.NewService(st, phones)
		c := directory.NewReadCache(svc, time.Hour)

		if ok, why := c.TelephonyEnabled(ctx); ok || why == "" {
			t.Fatalf("telephony on without a buyer number (%q)", why)
		}
		// A write through this process's service counts at once.
		if _, err := svc.CreateNumber(ctx, directory.Number{E164: "+15125550100", Kind: directory.KindRole, Role: "buyer"}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.TelephonyEnabled(ctx); !ok {
			t.Fatal("telephony still off after the buyer number was added here")
		}
		n, err := c.GetNumberByE164(ctx, "(512) 555-0100")
		if err != nil || n.Role != "buyer" {
			t.Fatalf("GetNumberByE164 = %+v, %v", n, err)
		}
		// Another process's write is not seen until the TTL passes...
		if _, err := other.CreateNumber(ctx, directory.Number{E164: "+15125550199", Kind: directory.KindCatchAll}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetNumberByE164(ctx, "+15125550199"); !errors.Is(err, directory.ErrNotFound) {
			t.Fatalf("another process's number seen before the TTL: %v", err)
		}
		// ...and is with a short one.
		short := directory.NewReadCache(svc, time.Nanosecond)
		if _, err := short.GetNumberByE164(ctx, "+15125550199"); err != nil {
			t.Fatalf("after the TTL: %v", err)
		}
		ns, err := short.ListNumbers(ctx, directory.NumberFilter{Kind: directory.KindCatchAll, Page: directory.Page{Limit: 1}})
		if err != nil || len(ns) != 1 || ns[0].E164 != "+15125550199" {
			t.Fatalf("catch-all = %+v, %v", ns, err)
		}
		var v *directory.ValidationError
		if _, err := c.GetNumberByE164(ctx, "not a number"); !errors.As(err, &v) {
			t.Fatalf("bad number: %v", err)
		}
		// Settings changed here are seen at once.
		st0, _ := svc.GetSettings(ctx)
		st0.RingTimeoutSeconds = 42
		if _, err := svc.UpdateSettings(ctx, st0); err != nil {
			t.Fatal(err)
		}
		if got, err := c.GetSettings(ctx); err != nil || got.RingTimeoutSeconds != 42 {
			t.Fatalf("settings = %d, %v", got.RingTimeoutSeconds, err)
		}
	})
}

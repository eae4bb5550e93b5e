package sip

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// The watch tells once per window, starts over after it, and stays
// bounded however many names an attacker tries: one-off names make room
// for each other while an account under attack keeps its count.
func TestAccountWatch(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var w accountWatch
	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	fail := func(name string, i int) (accountAlert, bool) { return w.fail(name, src(i), now, time.Minute, 4) }

	for i := range 3 {
		if _, crossed := fail("Alice", i); crossed {
			t.Fatalf("alert after %d failures of 4", i+1)
		}
	}
	// A flood of one-off names, more than the table holds.
	for i := range 2 * maxAccountEntries {
		fail(fmt.Sprintf("name-%d", i), 200)
	}
	if n := len(w.entries); n > maxAccountEntries {
		t.Fatalf("%d entries, bound is %d", n, maxAccountEntries)
	}
	// Case does not split a name; the count survived the flood.
	a, crossed := fail("alice", 3)
	if !crossed || a.failures != 4 || a.sources != 4 {
		t.Fatalf("fourth failure of alice: %+v %v, want an alert with 4 failures from 4 addresses", a, crossed)
	}
	if _, crossed := fail("alice", 3); crossed {
		t.Fatal("told twice in one window")
	}
	// A new window starts over.
	now = now.Add(61 * time.Second)
	for i := range 3 {
		if _, crossed := fail("alice", 7); crossed {
			t.Fatalf("alert after %d failures in the new window", i+1)
		}
	}
	if a, crossed := fail("alice", 7); !crossed || a.sources != 1 {
		t.Fatalf("new window: %+v %v, want an alert from one address", a, crossed)
	}
	// Addresses are counted up to a bound.
	for i := range maxAccountSources + 10 {
		fail("bob", i)
	}
	if n := len(w.entries["bob"].sources); n != maxAccountSources {
		t.Errorf("bob's sources: %d, want the bound %d", n, maxAccountSources)
	}
	// The table was full when bob came: the entries of the passed window
	// (the flood) were dropped to make room, not alice's live one.
	if n := len(w.entries); n != 2 {
		t.Errorf("%d entries, want alice's and bob's alone", n)
	}
}

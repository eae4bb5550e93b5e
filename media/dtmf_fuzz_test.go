package media

import (
	"errors"
	"testing"
)

// FuzzTelephoneEvent feeds the same bytes to both DTMF parsers. Neither
// panics; a parsed telephone-event holds the fields of the first 4 bytes,
// whatever the R bit (which is ignored); the tracker never reports a key
// for an event that is none; an INFO body either fails with ErrBadEvent or
// gives a key.
func FuzzTelephoneEvent(f *testing.F) {
	f.Add([]byte{5, 0x8a, 0x03, 0x20}, "application/dtmf-relay")
	f.Add([]byte{16, 0x40, 0, 0, 7}, "application/dtmf")
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"), "application/dtmf-relay")
	f.Add([]byte("signal = 11"), "Application/DTMF-Relay; x=y")
	f.Add([]byte(" * "), "application/dtmf")
	f.Fuzz(func(t *testing.T, p []byte, contentType string) {
		ev, err := ParseTelephoneEvent(p)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) || len(p) >= 4 {
				t.Fatalf("ParseTelephoneEvent(% x): %v", p, err)
			}
		} else {
			// Every bit of the first 4 bytes but R lands in a field.
			want := TelephoneEvent{Event: p[0], End: p[1]&0x80 != 0, Volume: p[1] & 0x3f, Duration: uint16(p[2])<<8 | uint16(p[3])}
			if ev != want {
				t.Fatalf("ParseTelephoneEvent(% x) = %+v, want %+v", p, ev, want)
			}
			if again, _ := ParseTelephoneEvent([]byte{p[0], p[1] ^ 0x40, p[2], p[3]}); again != ev {
				t.Fatalf("the R bit changed the event: %+v, want %+v", again, ev)
			}
			var tr EventTracker
			d, ok := tr.Observe(1000, ev)
			if _, isKey := EventDigit(ev.Event); ok != isKey {
				t.Fatalf("event %d reported as %q, %v", ev.Event, d, ok)
			}
			if _, ok := tr.Observe(1000, ev); ok {
				t.Fatal("the same packet reported twice")
			}
		}
		r, err := ParseDTMFInfo(contentType, p)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("ParseDTMFInfo: %v, not ErrBadEvent", err)
			}
			return
		}
		if _, ok := DigitEvent(r); !ok || (r >= 'a' && r <= 'd') {
			t.Fatalf("ParseDTMFInfo(%q, %q) = %q: not a key", contentType, p, r)
		}
	})
}

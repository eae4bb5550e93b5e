package media

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzTelephoneEvent feeds the same bytes to both DTMF parsers. Neither
// panics; a parsed telephone-event marshals back to the first 4 bytes
// (less the R bit, which is ignored) and parses to itself again; the
// tracker never reports a key for an event that is none; an INFO body
// either fails with ErrBadEvent or gives a key.
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
			b := ev.Marshal(nil)
			want := []byte{p[0], p[1] &^ 0x40, p[2], p[3]}
			if !bytes.Equal(b, want) {
				t.Fatalf("%+v marshals to % x, want % x", ev, b, want)
			}
			if again, err := ParseTelephoneEvent(b); err != nil || again != ev {
				t.Fatalf("round trip: %+v, %v; want %+v", again, err, ev)
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

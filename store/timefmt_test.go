package store

import (
	"testing"
	"time"
)

func TestTimeScanner(t *testing.T) {
	want := time.Date(2025, 3, 14, 14, 9, 26, 535897000, time.UTC)
	for _, src := range []any{
		want,
		want.Add(932 * time.Nanosecond).In(time.FixedZone("CET", 3600)),
		"2025-03-14 14:09:26.535897",
		[]byte("2025-03-14 14:09:26.535897"),
		"2025-03-14 14:09:26.5358979",
	} {
		var got time.Time
		if err := scanTime(&got).Scan(src); err != nil {
			t.Fatalf("%#v: %v", src, err)
		}
		if got != want { // also the same *Location
			t.Errorf("%#v: got %v", src, got)
		}
	}
	var whole time.Time
	if err := scanTime(&whole).Scan("2025-03-14 14:09:26"); err != nil || whole != want.Truncate(time.Second) {
		t.Errorf("no fraction: %v %v", whole, err)
	}
	for _, bad := range []any{nil, "yesterday", 42} {
		var got time.Time
		if err := scanTime(&got).Scan(bad); err == nil {
			t.Errorf("%#v: no error", bad)
		}
	}
	p := &want
	if err := scanNullTime(&p).Scan(nil); err != nil || p != nil {
		t.Errorf("NULL: %v %v", p, err)
	}
	if err := scanNullTime(&p).Scan("2025-03-14 14:09:26.535897"); err != nil || p == nil || *p != want {
		t.Errorf("nullable: %v %v", p, err)
	}
	if s := fmtTime(want.Add(999 * time.Nanosecond).In(time.FixedZone("X", -7200))); s != "2025-03-14 14:09:26.535897" {
		t.Errorf("fmtTime = %q", s)
	}
}

package billing

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	answer := start.Add(7 * time.Second)
	for _, tc := range []struct {
		name string
		r    CallRecord
		want time.Duration
	}{
		{"running", CallRecord{Start: start}, 0},
		{"answered, running", CallRecord{Start: start, Answer: answer}, 0},
		{"never answered", CallRecord{Start: start, End: start.Add(30 * time.Second), Result: ResultNoAnswer}, 0},
		{"answered", CallRecord{Start: start, Answer: answer, End: answer.Add(61 * time.Second), Result: ResultAnswered}, 61 * time.Second},
		{"sub-second", CallRecord{Start: start, Answer: answer, End: answer.Add(1500 * time.Millisecond)}, 1500 * time.Millisecond},
		{"end before answer (clock step)", CallRecord{Start: start, Answer: answer, End: answer.Add(-time.Second)}, 0},
	} {
		if got := tc.r.Duration(); got != tc.want {
			t.Errorf("%s: Duration() = %v, want %v", tc.name, got, tc.want)
		}
		if got, want := tc.r.Open(), tc.r.End.IsZero(); got != want {
			t.Errorf("%s: Open() = %v", tc.name, got)
		}
	}
}

package router

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teamline/teamline/directory"
)

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // time.Weekday order

// minuteOfDay parses HH:MM ("24:00" is 1440).
func minuteOfDay(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("router: bad time of day %q", s)
	}
	return hh*60 + mm, nil
}

// inWindow tells whether wall-clock time t (already in the account's time
// zone) falls in w. A window whose end is not after its start crosses
// midnight: it belongs to the day it starts on, so "fri 22:00-02:00" holds
// Friday 22:00 to Saturday 02:00. Wall-clock comparison keeps windows
// right across DST changes: 08:00-21:00 is 08:00-21:00 local on the day
// the clocks change, whatever the UTC offset.
func inWindow(w directory.Window, t time.Time) (bool, error) {
	start, err := minuteOfDay(w.Start)
	if err != nil {
		return false, err
	}
	end, err := minuteOfDay(w.End)
	if err != nil {
		return false, err
	}
	now := t.Hour()*60 + t.Minute()
	today := weekdays[t.Weekday()]
	yesterday := weekdays[(t.Weekday()+6)%7]
	onDay := func(d string) bool { return len(w.Days) == 0 || slices.Contains(w.Days, d) }
	if end > start {
		return onDay(today) && now >= start && now < end, nil
	}
	// Crosses midnight: the evening part today, or the morning part of
	// a window that started yesterday.
	return onDay(today) && now >= start || onDay(yesterday) && now < end, nil
}

// windowText is a window for the trace.
func windowText(w directory.Window) string {
	days := "every day"
	if len(w.Days) > 0 {
		days = strings.Join(w.Days, ",")
	}
	return fmt.Sprintf("%s %s-%s", days, w.Start, w.End)
}

// inAnyWindow: no windows means 24/7 (R-RULE-4).
func inAnyWindow(ws []directory.Window, t time.Time) (bool, string, error) {
	if len(ws) == 0 {
		return true, "24/7", nil
	}
	var texts []string
	for _, w := range ws {
		ok, err := inWindow(w, t)
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, windowText(w), nil
		}
		texts = append(texts, windowText(w))
	}
	return false, strings.Join(texts, "; "), nil
}

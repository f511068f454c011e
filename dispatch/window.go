package dispatch

import (
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// nextOpen returns t if the client's window is open at t, and otherwise
// the next time it opens (in the client's zone, so daylight saving time
// moves it as it moves the client's day).
func nextOpen(w *store.Window, t time.Time, loc *time.Location) time.Time {
	if w.Contains(t, loc) {
		return t
	}
	local := t.In(loc)
	h, m := clock(w.From)
	open := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, loc)
	if !open.After(t) {
		open = time.Date(local.Year(), local.Month(), local.Day()+1, h, m, 0, 0, loc)
	}
	return open
}

// clock reads "HH:MM" (validated when the mailing was stored).
func clock(s string) (hour, minute int) {
	if len(s) != 5 {
		return 0, 0
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), int(s[3]-'0')*10 + int(s[4]-'0')
}

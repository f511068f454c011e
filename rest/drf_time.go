package rest

import (
	"strings"
	"time"
)

// drfTime renders an instant as DRF's DateTimeField does: ISO 8601 in the
// dialect's time zone, microseconds only when there are any (Python's
// isoformat drops a zero fraction), and UTC written "Z":
// 2025-11-06T07:37:34.364302Z, or 2025-11-06T10:37:34.364302+03:00.
func drfTime(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	t = t.In(zone)
	layout := "2006-01-02T15:04:05.000000Z07:00"
	if t.Nanosecond()/1000 == 0 {
		layout = "2006-01-02T15:04:05Z07:00"
	}
	s := t.Format(layout)
	// Go writes "Z" for any zero offset, as DRF does for "+00:00".
	return strings.Replace(s, "+00:00", "Z", 1)
}

// drfTimeOrNull renders an optional instant, null when absent.
func drfTimeOrNull(t *time.Time, zone *time.Location) any {
	if t == nil {
		return nil
	}
	return drfTime(*t, zone)
}

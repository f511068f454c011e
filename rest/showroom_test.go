package rest_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestShowroomTimeZone: with showroom=Europe/Moscow (the service's
// TIME_ZONE), naive datetimes sent are Moscow time and answers are written
// with +03:00; GraphQL keeps the same instant in UTC.
func TestShowroomTimeZone(t *testing.T) {
	g := newGateway(t, withMounts("", "showroom=Europe/Moscow"))
	for _, c := range []struct{ path, body string }{
		{"/api/v1/codes/", `{"code": "916"}`},
		{"/api/v1/tags/", `{"name": "vip"}`},
		{"/api/v1/mailing/", `{"tags": ["vip"], "codes": ["916"], "start_notification_date": "2030-01-01 12:00", "end_notification_date": "2030-01-01T12:00:00Z", "text": "hi"}`},
	} {
		if r := g.do(http.MethodPost, c.path, "admin", c.body); r.Status != http.StatusCreated {
			t.Fatalf("%s: %d %s", c.path, r.Status, r.Body)
		}
	}
	r := g.do(http.MethodGet, "/api/v1/mailing/1/", "admin", "")
	want := `"start_notification_date":"2030-01-01T12:00:00+03:00","end_notification_date":"2030-01-01T15:00:00+03:00"`
	if !strings.Contains(string(r.Body), want) {
		t.Errorf("%s, want %s", r.Body, want)
	}
	got := g.graphql(`{ mailing(id: 1) { startNotificationDate status } }`, nil, "admin")
	if m := got["data"].(map[string]any)["mailing"].(map[string]any); m["startNotificationDate"] != "2030-01-01T09:00:00Z" || m["status"] != "SCHEDULED" {
		t.Errorf("GraphQL sees %v", m)
	}
}

// TestShowroomFieldErrorsInDRFOrder: a mailing wrong in two fields and in
// both label lists gets one body holding every error, byte for byte in the
// order a DRF serializer gives them: the fields in the serializer's field
// order (tags, codes, start_notification_date, end_notification_date,
// text), then non_field_errors. DRF runs a serializer's validate(), whose
// errors are non_field_errors, only once every field is valid, so its
// clients never saw non_field_errors before a field's errors; a client that
// shows the first error must still show a field's.
func TestShowroomFieldErrorsInDRFOrder(t *testing.T) {
	g := newGateway(t)
	body := `{"tags": [], "codes": [], "start_notification_date": "2030-01-02T09:00:00Z",` +
		` "end_notification_date": "2030-01-01T09:00:00Z", "text": "` + strings.Repeat("x", 501) + `"}`
	r := g.do(http.MethodPost, "/api/v1/mailing/", "admin", body)
	want := `{"end_notification_date":["The end must be after the start."],` +
		`"text":["Ensure this field has no more than 500 characters."],` +
		`"non_field_errors":["Name at least one tag.","Name at least one operator code."]}`
	if r.Status != http.StatusBadRequest || string(r.Body) != want {
		t.Errorf("%d %s\nwant 400 %s", r.Status, r.Body, want)
	}
}

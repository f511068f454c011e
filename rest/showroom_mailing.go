package rest

import (
	"encoding/json"
	"maps"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/store/fault"
)

// The showroom dialect's mailings, messages and statistics.

type showroomMailingData struct {
	ID                    string    `json:"id"`
	Tags                  []string  `json:"tags"`
	Codes                 []string  `json:"codes"`
	StartNotificationDate time.Time `json:"startNotificationDate"`
	EndNotificationDate   time.Time `json:"endNotificationDate"`
	Text                  string    `json:"text"`
}

// showroomMailing is MallingListSerializer: what lists and reads show.
func showroomMailing(req *request, m *showroomMailingData) object {
	return object{}.
		set("id", idNumber(m.ID)).
		set("start_notification_date", req.time(m.StartNotificationDate)).
		set("end_notification_date", req.time(m.EndNotificationDate)).
		set("text", m.Text)
}

// showroomMailingWritten is MallingListCreateUpdateSerializer's shape, as
// the seed documents the answer of a create or an update.
func showroomMailingWritten(req *request, m *showroomMailingData) object {
	return object{}.
		set("id", idNumber(m.ID)).
		set("tags", m.Tags).
		set("codes", m.Codes).
		set("start_notification_date", req.time(m.StartNotificationDate)).
		set("end_notification_date", req.time(m.EndNotificationDate)).
		set("text", m.Text)
}

// bindShowroomMailingList reads the page and the filter's tag and code
// (django-filter's CharFilters: trimmed, an empty one filters nothing).
func bindShowroomMailingList(req *request) (variables, error) {
	vars, err := bindShowroomPage(req)
	if err != nil {
		return nil, err
	}
	q := req.Query()
	errs := fault.FieldErrors{}
	filter := map[string]any{}
	for _, name := range []string{"tag", "code"} {
		if raw, ok := q.get(name); ok {
			if v, ok := charFilterValue(raw, name, errs); ok {
				filter[name] = v
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(filter) > 0 {
		vars["filter"] = filter
	}
	return vars, nil
}

// showroomMailingInput reads MallingListCreateUpdateSerializer's fields:
// every one required unless partial; tags and codes are lists of strings;
// naive datetimes are in the dialect's zone.
func showroomMailingInput(req *request, partial bool) (map[string]any, error) {
	data, err := req.object(parseJSON)
	if err != nil {
		return nil, err
	}
	f := newForm(data)
	input := map[string]any{}
	for _, field := range []string{"tags", "codes"} {
		if v, ok := f.textList(field, !partial); ok {
			input[field] = v
		}
	}
	for _, t := range []struct{ json, graphql string }{
		{"start_notification_date", "startNotificationDate"}, {"end_notification_date", "endNotificationDate"},
	} {
		if v, ok := f.datetime(t.json, !partial, req.Zone); ok {
			input[t.graphql] = v
		}
	}
	if v, ok := f.text("text", textRule{required: !partial}); ok {
		input["text"] = *v
	}
	return input, f.err()
}

var bindShowroomMailingCreate = bindInput(showroomMailingInput)

type showroomMessageData struct {
	ID       string     `json:"id"`
	SendDate *time.Time `json:"sendDate"`
	Status   string     `json:"status"`
	Mailing  *ref       `json:"mailing"`
	Client   *ref       `json:"client"`
}

// showroomStatus is the service's word for a message's status: New until
// it is sent (in flight too), Send once sent, Error when it failed or
// expired.
func showroomStatus(status string) string {
	switch status {
	case "SENT":
		return "Send"
	case "FAILED", "EXPIRED":
		return "Error"
	}
	return "New"
}

func optionalRef(r *ref) any {
	if r == nil {
		return nil
	}
	return idNumber(r.ID)
}

// showroomMessage is MessageSerializer, with the document's field name
// mailing_list (the service's code said malling_list).
func showroomMessage(req *request, m *showroomMessageData) object {
	return object{}.
		set("id", idNumber(m.ID)).
		set("send_date", req.optionalTime(m.SendDate)).
		set("status", showroomStatus(m.Status)).
		set("mailing_list", optionalRef(m.Mailing)).
		set("client", optionalRef(m.Client))
}

type showroomStatsData struct {
	Mailing showroomMailingData `json:"mailing"`
	Total   int                 `json:"total"`
	Pending int                 `json:"pending"`
	Sending int                 `json:"sending"`
	Sent    int                 `json:"sent"`
	Failed  int                 `json:"failed"`
	Expired int                 `json:"expired"`
}

// showroomStatistic is one mailing's statistics (docs/rest.md): the
// mailing, and its messages counted in total and by the service's status
// words.
func showroomStatistic(req *request, s *showroomStatsData) object {
	return showroomMailing(req, &s.Mailing).
		set("total", s.Total).
		set("statuses", object{}.
			set("New", s.Pending+s.Sending).
			set("Send", s.Sent).
			set("Error", s.Failed+s.Expired))
}

func shapeShowroomStatistics(req *request, data json.RawMessage) (int, any, error) {
	var all []showroomStatsData
	if err := pickInto(data, &all, "mailingsStats"); err != nil {
		return 0, nil, err
	}
	out := make([]object, len(all))
	for i := range all {
		out[i] = showroomStatistic(req, &all[i])
	}
	return http.StatusOK, out, nil
}

// bindShowroomStatistic reads the mailing's id and the page of its
// messages (page and limit, as every list of the dialect).
func bindShowroomStatistic(req *request) (variables, error) {
	vars, err := bindID(req)
	if err != nil {
		return nil, err
	}
	page, err := bindShowroomPage(req)
	if err != nil {
		return nil, err
	}
	maps.Copy(vars, page)
	vars["mailing"] = []string{idString(vars["id"].(int64))}
	return vars, nil
}

// shapeShowroomStatistic is one mailing's statistics and a page of its
// messages, in id order. A mailing may have a message for every client:
// the page keeps the answer, and the reads behind it, bounded.
func shapeShowroomStatistic(req *request, data json.RawMessage) (int, any, error) {
	var stats showroomStatsData
	if err := pickInto(data, &stats, "mailingStats"); err != nil {
		return 0, nil, err
	}
	_, messages, err := shapeStatisticMessages(req, data)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, showroomStatistic(req, &stats).set("messages", messages), nil
}

// shapeStatisticMessages pages a statistic's messages as the dialect pages
// its lists.
var shapeStatisticMessages = shapeShowroomPage("messages", func(req *request, m *showroomMessageData) object {
	return object{}.
		set("id", idNumber(m.ID)).
		set("client", optionalRef(m.Client)).
		set("status", showroomStatus(m.Status)).
		set("send_date", req.optionalTime(m.SendDate))
})

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// mailingWorld is a gateway, and a superuser token on it, with a tag, a code and
// three clients.
func mailingWorld(t *testing.T) (*testGateway, string) {
	t.Helper()
	return mailingWorldOn(t, newTestGateway(t))
}

// mailingWorldOn is mailingWorld on a gateway of the caller's.
func mailingWorldOn(t *testing.T, g *testGateway) (*testGateway, string) {
	t.Helper()
	root := g.staff(t, "root", true)
	g.query(t, root, `mutation { vip: createTag(name: "vip") { id } other: createTag(name: "other") { id } mts: createOperatorCode(code: "916") { id } }`, nil).mustData(t)
	for i, tag := range []string{"1", "1", "2"} {
		g.query(t, root, `mutation($p: String!, $t: ID!) { createClient(input: {phoneNumber: $p, mobileOperatorCodeId: "1", tagId: $t, timezone: "Europe/Moscow"}) { id } }`,
			map[string]any{"p": fmt.Sprintf("7916000000%d", i), "t": tag}).mustData(t)
	}
	return g, root
}

func TestClientsThroughGraphQL(t *testing.T) {
	g, root := mailingWorld(t)
	r := g.query(t, root, `{ clients(filter: {tagIds: ["1"], phonePrefix: "7916"}) { totalCount nodes { phoneNumber tag { name } mobileOperatorCode { code } timezone } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "clients")); got != "map[nodes:[map[mobileOperatorCode:map[code:916] phoneNumber:79160000000 tag:map[name:vip] timezone:Europe/Moscow] map[mobileOperatorCode:map[code:916] phoneNumber:79160000001 tag:map[name:vip] timezone:Europe/Moscow]] totalCount:2]" {
		t.Errorf("clients: %s", got)
	}
	cases := []struct {
		name, input string
		field       string
	}{
		{"phone not 7…", `{phoneNumber: "89160000000", mobileOperatorCodeId: "1", tagId: "1", timezone: "UTC"}`, "phone_number"},
		{"phone too short", `{phoneNumber: "7916", mobileOperatorCodeId: "1", tagId: "1", timezone: "UTC"}`, "phone_number"},
		{"unknown timezone", `{phoneNumber: "79160000009", mobileOperatorCodeId: "1", tagId: "1", timezone: "Mars/Base"}`, "timezone"},
		{"unknown tag", `{phoneNumber: "79160000009", mobileOperatorCodeId: "1", tagId: "77", timezone: "UTC"}`, "tag"},
		{"unknown code", `{phoneNumber: "79160000009", mobileOperatorCodeId: "77", tagId: "1", timezone: "UTC"}`, "mobile_operator_code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.query(t, root, `mutation { createClient(input: `+c.input+`) { id } }`, nil)
			if r.code() != "BAD_USER_INPUT" || r.fields()[c.field] == nil {
				t.Errorf("%s: %s %v", c.name, r.code(), r.fields())
			}
		})
	}
	if n, _ := g.store.CountClients(context.Background(), nil); n != 3 {
		t.Errorf("%d clients stored, want 3", n)
	}
	// A tag its clients use is deleted only with cascade.
	r = g.query(t, root, `mutation { deleteTag(id: "2") }`, nil)
	if r.code() != "CONFLICT" {
		t.Errorf("delete a used tag: %+v", r.Errors)
	}
	g.query(t, root, `mutation { deleteTag(id: "2", cascade: true) }`, nil).mustData(t)
	if n, _ := g.store.CountClients(context.Background(), nil); n != 2 {
		t.Errorf("%d clients after the cascade, want 2", n)
	}
}

func TestMailingsThroughGraphQL(t *testing.T) {
	g, root := mailingWorld(t)
	bad := []struct {
		name, input string
		fields      []string
	}{
		{"text over 500", fmt.Sprintf(`{text: "%0501d", startNotificationDate: "2030-01-01T00:00:00Z", endNotificationDate: "2030-01-02T00:00:00Z", tags: ["vip"], codes: ["916"]}`, 0), []string{"text"}},
		{"end before start", `{text: "hi", startNotificationDate: "2030-01-02T00:00:00Z", endNotificationDate: "2030-01-01T00:00:00Z", tags: ["vip"], codes: ["916"]}`, []string{"end_notification_date"}},
		{"unknown tag and code", `{text: "hi", startNotificationDate: "2030-01-01T00:00:00Z", endNotificationDate: "2030-01-02T00:00:00Z", tags: ["gold"], codes: ["999"]}`, []string{"codes", "tags"}},
		{"bad window", `{text: "hi", startNotificationDate: "2030-01-01T00:00:00Z", endNotificationDate: "2030-01-02T00:00:00Z", tags: ["vip"], codes: ["916"], window: {from: "25:00", to: "21:00"}}`, []string{"window"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := g.query(t, root, `mutation { createMailing(input: `+c.input+`) { id } }`, nil)
			var got []string
			for _, f := range []string{"codes", "end_notification_date", "tags", "text", "window"} {
				if r.fields()[f] != nil {
					got = append(got, f)
				}
			}
			if r.code() != "BAD_USER_INPUT" || fmt.Sprint(got) != fmt.Sprint(c.fields) {
				t.Errorf("%s %v, want fields %v", r.code(), r.fields(), c.fields)
			}
		})
	}
	if n, _ := g.store.CountMailings(context.Background(), nil); n != 0 {
		t.Fatalf("invalid mailings stored: %d", n)
	}

	r := g.query(t, root, `mutation { createMailing(input: {text: "Sale!", startNotificationDate: "2030-01-01T09:00:00Z", endNotificationDate: "2030-01-02T09:00:00Z", tags: ["vip"], codes: ["916"], window: {from: "09:00", to: "21:00"}}) { id status window { from to } stats { total matchedClients } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "createMailing")); got != "map[id:1 stats:map[matchedClients:2 total:0] status:SCHEDULED window:map[from:09:00 to:21:00]]" {
		t.Errorf("created: %s", got)
	}
	r = g.query(t, root, `{ byTag: mailings(filter: {tag: "vip", code: "916"}) { totalCount } other: mailings(filter: {tag: "other"}) { totalCount } active: mailings(filter: {activeAt: "2030-01-01T10:00:00Z", status: [SCHEDULED]}) { totalCount } }`, nil)
	if got := fmt.Sprint(r.mustData(t)); got != "map[active:map[totalCount:1] byTag:map[totalCount:1] other:map[totalCount:0]]" {
		t.Errorf("filters: %s", got)
	}
	r = g.query(t, root, `mutation { updateMailing(id: "1", input: {text: "Bigger sale!", window: null}) { text window { from } } }`, nil)
	if got := fmt.Sprint(dig(r.mustData(t), "updateMailing")); got != "map[text:Bigger sale! window:<nil>]" {
		t.Errorf("updated: %s", got)
	}

	// Pause, resume, cancel: each only from where it makes sense.
	steps := []struct {
		op, want string
	}{
		{"resumeMailing", "CONFLICT"},
		{"pauseMailing", "PAUSED"},
		{"pauseMailing", "CONFLICT"},
		{"resumeMailing", "SCHEDULED"},
		{"cancelMailing", "CANCELLED"},
		{"resumeMailing", "CONFLICT"},
	}
	for _, st := range steps {
		r := g.query(t, root, `mutation { `+st.op+`(id: "1") { status statusReason } }`, nil)
		got := r.code()
		if got == "" {
			got = fmt.Sprint(dig(r.Data, st.op, "status"))
		}
		if got != st.want {
			t.Errorf("%s: %s, want %s", st.op, got, st.want)
		}
	}
	r = g.query(t, root, `{ mailing(id: "1") { status statusReason finishedAt } }`, nil)
	m := dig(r.mustData(t), "mailing").(map[string]any)
	if m["statusReason"] != "cancelled by root" || m["finishedAt"] == nil {
		t.Errorf("cancelled mailing: %v", m)
	}
	if r := g.query(t, root, `mutation { updateMailing(id: "1", input: {text: "too late"}) { id } }`, nil); r.code() != "CONFLICT" {
		t.Errorf("changing a cancelled mailing: %+v", r.Errors)
	}
}

func TestMessagesAndStatsThroughGraphQL(t *testing.T) {
	g, root := mailingWorld(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	m, err := g.store.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(2 * time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
	if err != nil {
		t.Fatal(err)
	}
	sent := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	msgs := []any{
		store.Message{ID: 1, MailingID: m.ID, ClientID: 1, Status: store.MessageSent, SendDate: &sent, Attempts: 1},
		store.Message{ID: 2, MailingID: m.ID, ClientID: 2, Status: store.MessageFailed, Attempts: 3, LastError: "receiver said 422"},
	}
	// Messages in the states a dispatcher would leave them, written straight
	// into the collection.
	if _, err := g.store.Collection("messages").Insert(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	r := g.query(t, root, `{ mailingStats(id: "1") { total sent failed pending matchedClients firstSend lastSend mailing { text } }
		mailingsStats { total } messages(filter: {status: [FAILED]}) { totalCount nodes { attempts lastError client { phoneNumber } mailing { id } } } }`, nil)
	data := r.mustData(t)
	if got := fmt.Sprint(dig(data, "mailingStats")); got != "map[failed:1 firstSend:2026-05-01T10:00:00Z lastSend:2026-05-01T10:00:00Z mailing:map[text:hi] matchedClients:2 pending:0 sent:1 total:2]" {
		t.Errorf("stats: %s", got)
	}
	if got := fmt.Sprint(dig(data, "messages")); got != "map[nodes:[map[attempts:3 client:map[phoneNumber:79160000001] lastError:receiver said 422 mailing:map[id:1]]] totalCount:1]" {
		t.Errorf("messages: %s", got)
	}
	if got := fmt.Sprint(dig(data, "mailingsStats")); got != "[map[total:2]]" {
		t.Errorf("all stats: %s", got)
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestTagsAndCodes(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	tag, err := s.CreateTag(ctx, "vip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTag(ctx, "vip"); fieldErrors(t, err)["name"] == nil {
		t.Errorf("duplicate tag: %v", err)
	}
	if _, err := s.CreateTag(ctx, strings.Repeat("x", 51)); fieldErrors(t, err)["name"] == nil {
		t.Errorf("long tag: %v", err)
	}
	code, _ := s.CreateOperatorCode(ctx, "916")
	if _, err := s.CreateOperatorCode(ctx, " "); fieldErrors(t, err)["code"] == nil {
		t.Errorf("blank code: %v", err)
	}
	c, err := s.CreateClient(ctx, store.ClientInput{PhoneNumber: "79161234567", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "Europe/Moscow"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTag(ctx, tag.ID, false); fault.CodeOf(err) != fault.Conflict {
		t.Errorf("deleting a used tag: %v", err)
	}
	if err := s.DeleteOperatorCode(ctx, code.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientByID(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("client survived its code's cascade: %v", err)
	}
	if err := s.DeleteTag(ctx, tag.ID, false); err != nil {
		t.Errorf("deleting an unused tag: %v", err)
	}
}

func TestClientValidation(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	tag, _ := s.CreateTag(ctx, "vip")
	code, _ := s.CreateOperatorCode(ctx, "916")
	cases := []struct {
		in   store.ClientInput
		want []string
	}{
		{store.ClientInput{PhoneNumber: "89161234567", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}, []string{"phone_number"}},
		{store.ClientInput{PhoneNumber: "7916123456", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}, []string{"phone_number"}},
		{store.ClientInput{PhoneNumber: "7916123456a", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}, []string{"phone_number"}},
		{store.ClientInput{PhoneNumber: "79161234567", OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "Mars/Olympus"}, []string{"timezone"}},
		{store.ClientInput{PhoneNumber: "79161234567", OperatorCodeID: 99, TagID: 98, Timezone: "UTC"}, []string{"mobile_operator_code", "tag"}},
	}
	for i, c := range cases {
		_, err := s.CreateClient(ctx, c.in)
		got := fieldErrors(t, err)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		if fmt.Sprint(sortedKeys(got)) != fmt.Sprint(c.want) {
			t.Errorf("case %d: %v, want fields %v", i, got, c.want)
		}
	}
	if n, _ := s.CountClients(ctx, nil); n != 0 {
		t.Errorf("invalid clients stored: %d", n)
	}
}

func sortedKeys(m map[string][]string) []string {
	var keys []string
	for _, k := range []string{"codes", "end_notification_date", "mobile_operator_code", "phone_number", "tag", "tags", "text", "timezone", "window"} {
		if m[k] != nil {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestMailingsAndStats(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	vip, _ := s.CreateTag(ctx, "vip")
	other, _ := s.CreateTag(ctx, "other")
	mts, _ := s.CreateOperatorCode(ctx, "916")
	var clients []store.ClientInput
	for i := range 6 {
		tag := vip.ID
		if i%3 == 2 {
			tag = other.ID
		}
		clients = append(clients, store.ClientInput{PhoneNumber: fmt.Sprintf("7916000000%d", i), OperatorCodeID: mts.ID, TagID: tag, Timezone: "Europe/Moscow"})
	}
	if _, err := s.CreateClients(ctx, clients); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	bad := store.MailingInput{Text: strings.Repeat("x", 501), Start: start, End: start, Tags: []string{"nope"}, Codes: []string{}, Window: &store.Window{From: "9:00", To: "21:00"}}
	_, err := s.CreateMailing(ctx, bad)
	if got := sortedKeys(fieldErrors(t, err)); !reflect.DeepEqual(got, []string{"codes", "end_notification_date", "text", "window"}) {
		t.Errorf("invalid mailing: %v", got)
	}
	_, err = s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"nope"}, Codes: []string{"916", "000"}})
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, map[string][]string{"tags": {`"nope" does not exist.`}, "codes": {`"000" does not exist.`}}) {
		t.Errorf("unknown labels: %v", got)
	}
	m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip", "vip"}, Codes: []string{"916"}, Window: &store.Window{From: "09:00", To: "21:00"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != store.MailingScheduled || !reflect.DeepEqual(m.Tags, []string{"vip"}) {
		t.Errorf("mailing = %+v", m)
	}
	if n, err := s.CountRecipients(ctx, m); err != nil || n != 4 {
		t.Errorf("recipients = %d, %v; want 4", n, err)
	}
	byTag, _ := s.FindMailings(ctx, &store.MailingFilter{Tag: ptr("vip"), Code: ptr("916")}, store.Page{})
	noneByTag, _ := s.FindMailings(ctx, &store.MailingFilter{Tag: ptr("other")}, store.Page{})
	if len(byTag) != 1 || len(noneByTag) != 0 {
		t.Errorf("by tag: %d and %d", len(byTag), len(noneByTag))
	}
	active, _ := s.FindMailings(ctx, &store.MailingFilter{ActiveAt: ptr(start.Add(time.Minute))}, store.Page{})
	if len(active) != 1 {
		t.Errorf("active: %d", len(active))
	}

	// Status moves are checked.
	if _, err := s.MoveMailing(ctx, m.ID, store.MoveStart, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveMailing(ctx, m.ID, store.MoveStart, ""); fault.CodeOf(err) != fault.Conflict {
		t.Errorf("a second start: %v", err)
	}

	stats, err := s.Stats(ctx, []store.ID{m.ID, 999})
	if err != nil {
		t.Fatal(err)
	}
	if st := stats[m.ID]; st.Total != 0 || stats[999] == nil {
		t.Errorf("stats before messages: %+v", stats)
	}

	// A window that spans midnight.
	w := &store.Window{From: "22:00", To: "06:00"}
	msk, _ := time.LoadLocation("Europe/Moscow")
	for h, want := range map[int]bool{20: true, 2: true, 3: false, 12: false, 18: false, 19: true} {
		at := time.Date(2026, 1, 1, h, 30, 0, 0, time.UTC) // Moscow is UTC+3
		if got := w.Contains(at, msk); got != want {
			t.Errorf("%02d:30 UTC in window %v: %v, want %v", h, w, got, want)
		}
	}
}

// A mailing's status moves only as the moves say: from each status, a move
// goes through exactly when the status is one it starts from, and a
// refused move leaves the mailing as it was.
func TestMailingMoves(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.Options{})
	if _, err := s.CreateTag(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOperatorCode(ctx, "916"); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour)
	for _, move := range store.MailingMoves {
		for _, from := range store.MailingStatuses {
			t.Run(move.Verb+" from "+string(from), func(t *testing.T) {
				m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hi", Start: start, End: start.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Collection("mailings").UpdateOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("%020d", int64(m.ID))}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: from}}}}, false)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.MoveMailing(ctx, m.ID, move, "by the test")
				allowed := slices.Contains(move.From, from)
				switch {
				case allowed && (err != nil || got.Status != move.To || got.StatusReason != "by the test"):
					t.Errorf("allowed, got %+v, %v", got, err)
				case !allowed && fault.CodeOf(err) != fault.Conflict:
					t.Errorf("want a conflict, got %v", err)
				case !allowed:
					if again, _ := s.MailingByID(ctx, m.ID); again.Status != from {
						t.Errorf("a refused move changed the status to %s", again.Status)
					}
				}
			})
		}
	}
	for _, final := range []store.MailingStatus{store.MailingFinished, store.MailingCancelled} {
		for _, move := range store.MailingMoves {
			if slices.Contains(move.From, final) {
				t.Errorf("%s moves a %s mailing", move.Verb, final)
			}
		}
	}
}

// A mailing's first and last sends are the ends of its sent messages in
// send order; failed messages and other mailings do not count.
func TestFirstAndLastSend(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	at := func(h int) *time.Time { v := time.Date(2026, 5, 1, h, 0, 0, 0, time.UTC); return &v }
	if first, err := s.FirstSend(ctx, 1); first != nil || err != nil {
		t.Fatalf("nothing sent: first %v, %v", first, err)
	}
	msgs := []any{
		store.Message{ID: 1, MailingID: 1, ClientID: 1, Status: store.MessageSent, SendDate: at(11)},
		store.Message{ID: 2, MailingID: 1, ClientID: 2, Status: store.MessageSent, SendDate: at(9)},
		store.Message{ID: 3, MailingID: 1, ClientID: 3, Status: store.MessageSent, SendDate: at(14)},
		store.Message{ID: 4, MailingID: 1, ClientID: 4, Status: store.MessageFailed, SendDate: at(20)},
		store.Message{ID: 5, MailingID: 2, ClientID: 1, Status: store.MessageSent, SendDate: at(7)},
	}
	if _, err := s.Collection("messages").Insert(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	first, err := s.FirstSend(ctx, 1)
	if err != nil || !first.Equal(*at(9)) {
		t.Errorf("first send %v, %v; want 09:00", first, err)
	}
	last, err := s.LastSend(ctx, 1)
	if err != nil || !last.Equal(*at(14)) {
		t.Errorf("last send %v, %v; want 14:00", last, err)
	}
}

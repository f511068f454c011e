package store

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/fault"
)

// MailingStatus is where a mailing is in its life.
type MailingStatus string

const (
	MailingScheduled MailingStatus = "SCHEDULED"
	MailingRunning   MailingStatus = "RUNNING"
	MailingPaused    MailingStatus = "PAUSED"
	MailingFinished  MailingStatus = "FINISHED"
	MailingCancelled MailingStatus = "CANCELLED"
)

// MailingStatuses lists every status, in a mailing's order of life.
var MailingStatuses = []MailingStatus{MailingScheduled, MailingRunning, MailingPaused, MailingFinished, MailingCancelled}

// Final tells whether a mailing sends nothing more.
func (s MailingStatus) Final() bool { return s == MailingFinished || s == MailingCancelled }

// Mailing sends one text to the clients whose tag and operator code match,
// between its start and end, within each client's local sending window.
type Mailing struct {
	ID    ID        `bson:"_id"`
	Text  string    `bson:"text"`
	Start time.Time `bson:"start_notification_date"`
	End   time.Time `bson:"end_notification_date"`
	// Tags and Codes pick the recipients: clients whose tag name is in Tags
	// and whose operator code is in Codes.
	Tags  []string `bson:"tags"`
	Codes []string `bson:"codes"`
	// Window, when set, limits sending to these local times of the client.
	Window *Window       `bson:"window"`
	Status MailingStatus `bson:"status"`
	// StatusReason says why a mailing paused or stopped (an operator reads it).
	StatusReason string     `bson:"status_reason"`
	CreatedAt    time.Time  `bson:"created_at"`
	Modified     time.Time  `bson:"modified"`
	StartedAt    *time.Time `bson:"started_at"`
	FinishedAt   *time.Time `bson:"finished_at"`
}

// Window is a daily span of local time, "09:00" to "21:00". An end before
// the start spans midnight ("22:00" to "06:00").
type Window struct {
	From string `bson:"from"`
	To   string `bson:"to"`
}

var clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

func minutes(clock string) int {
	return int(clock[0]-'0')*600 + int(clock[1]-'0')*60 + int(clock[3]-'0')*10 + int(clock[4]-'0')
}

// Contains tells whether t, read in loc, falls in the window.
func (w *Window) Contains(t time.Time, loc *time.Location) bool {
	if w == nil {
		return true
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	from, to := minutes(w.From), minutes(w.To)
	if from <= to {
		return m >= from && m < to
	}
	return m >= from || m < to
}

// Active tells whether the mailing may send at t (dates only; the window
// is per client).
func (m *Mailing) Active(t time.Time) bool {
	return !t.Before(m.Start) && t.Before(m.End)
}

// MailingInput is what creating or replacing a mailing takes.
type MailingInput struct {
	Text   string
	Start  time.Time
	End    time.Time
	Tags   []string
	Codes  []string
	Window *Window
}

// MailingUpdate changes the fields that are set. A running mailing's
// changes apply to what it has not sent yet.
type MailingUpdate struct {
	Text        *string
	Start       *time.Time
	End         *time.Time
	Tags        []string // nil: unchanged
	Codes       []string // nil: unchanged
	Window      *Window
	ClearWindow bool
}

const maxMailingText = 500

func validateMailing(v *fault.FieldErrors, in *MailingInput) {
	switch n := utf8.RuneCountInString(in.Text); {
	case strings.TrimSpace(in.Text) == "":
		v.Add("text", msgBlank)
	case n > maxMailingText:
		v.Add("text", msgMaxLength(maxMailingText))
	}
	if !in.Start.Before(in.End) {
		v.Add("end_notification_date", "The end must be after the start.")
	}
	if len(in.Tags) == 0 {
		v.Add("tags", "Name at least one tag.")
	}
	if len(in.Codes) == 0 {
		v.Add("codes", "Name at least one operator code.")
	}
	if w := in.Window; w != nil {
		if !clockPattern.MatchString(w.From) || !clockPattern.MatchString(w.To) || w.From == w.To {
			v.Add("window", "A window is two different local times, HH:MM, such as 09:00 and 21:00.")
		}
	}
}

// checkLabels refuses tag names and codes that do not exist.
func (s *Store) checkLabels(ctx context.Context, tags, codes []string) error {
	v := &fault.FieldErrors{}
	for _, l := range []struct {
		label  label
		field  string
		values []string
	}{{tagLabel, "tags", tags}, {codeLabel, "codes", codes}} {
		_, err := s.labelIDs(ctx, l.label, l.field, l.values)
		if ve, ok := fault.As(err); ok && ve.Code == fault.Invalid {
			for f, msgs := range ve.Fields {
				for _, m := range msgs {
					v.Add(f, m)
				}
			}
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

// CreateMailing stores a scheduled mailing. Errors: fault.Invalid.
func (s *Store) CreateMailing(ctx context.Context, in MailingInput) (*Mailing, error) {
	in.Tags, in.Codes = uniqueStrings(in.Tags), uniqueStrings(in.Codes)
	v := &fault.FieldErrors{}
	validateMailing(v, &in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkLabels(ctx, in.Tags, in.Codes); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	var m Mailing
	_, err := s.insertWithNewID(ctx, colMailings, func(id ID) any {
		m = Mailing{ID: id, Text: in.Text, Start: in.Start.UTC().Truncate(time.Millisecond), End: in.End.UTC().Truncate(time.Millisecond),
			Tags: in.Tags, Codes: in.Codes, Window: in.Window, Status: MailingScheduled, CreatedAt: now, Modified: now}
		return m
	})
	if err != nil {
		return nil, fmt.Errorf("create mailing: %w", err)
	}
	return &m, nil
}

// UpdateMailing changes a mailing that has not ended. Errors: ErrNotFound,
// fault.Invalid, fault.Conflict (finished or cancelled).
func (s *Store) UpdateMailing(ctx context.Context, id ID, u MailingUpdate) (*Mailing, error) {
	m, err := s.MailingByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Status.Final() {
		return nil, fault.New(fault.Conflict, fmt.Sprintf("This mailing is %s and can no longer be changed.", strings.ToLower(string(m.Status))))
	}
	in := MailingInput{Text: m.Text, Start: m.Start, End: m.End, Tags: m.Tags, Codes: m.Codes, Window: m.Window}
	if u.Text != nil {
		in.Text = *u.Text
	}
	if u.Start != nil {
		in.Start = *u.Start
	}
	if u.End != nil {
		in.End = *u.End
	}
	if u.Tags != nil {
		in.Tags = uniqueStrings(u.Tags)
	}
	if u.Codes != nil {
		in.Codes = uniqueStrings(u.Codes)
	}
	if u.ClearWindow {
		in.Window = nil
	} else if u.Window != nil {
		in.Window = u.Window
	}
	v := &fault.FieldErrors{}
	validateMailing(v, &in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkLabels(ctx, in.Tags, in.Codes); err != nil {
		return nil, err
	}
	set := bson.D{
		{Key: "text", Value: in.Text},
		{Key: "start_notification_date", Value: in.Start.UTC().Truncate(time.Millisecond)},
		{Key: "end_notification_date", Value: in.End.UTC().Truncate(time.Millisecond)},
		{Key: "tags", Value: in.Tags}, {Key: "codes", Value: in.Codes},
		{Key: "window", Value: in.Window}, {Key: "modified", Value: s.nowUTC()},
	}
	if _, err := s.mailings().UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}}, false); err != nil {
		return nil, fmt.Errorf("update mailing %s: %w", id, err)
	}
	return s.MailingByID(ctx, id)
}

// MailingMove is one way a mailing's status changes: to what, from which
// statuses, and the word its reason uses ("paused by alice").
type MailingMove struct {
	Verb string
	To   MailingStatus
	From []MailingStatus
}

// The moves of a mailing's status, the only ones there are. Operators pause,
// resume and cancel; the dispatcher starts, finishes, and pauses a mailing
// whose sends keep failing. A finished or cancelled mailing moves no more.
var (
	MoveStart  = MailingMove{Verb: "started", To: MailingRunning, From: []MailingStatus{MailingScheduled}}
	MovePause  = MailingMove{Verb: "paused", To: MailingPaused, From: []MailingStatus{MailingScheduled, MailingRunning}}
	MoveResume = MailingMove{Verb: "resumed", To: MailingScheduled, From: []MailingStatus{MailingPaused}}
	MoveCancel = MailingMove{Verb: "cancelled", To: MailingCancelled, From: []MailingStatus{MailingScheduled, MailingRunning, MailingPaused}}
	MoveFinish = MailingMove{Verb: "finished", To: MailingFinished, From: []MailingStatus{MailingScheduled, MailingRunning, MailingPaused}}
)

// MailingMoves lists every move.
var MailingMoves = []MailingMove{MoveStart, MovePause, MoveResume, MoveCancel, MoveFinish}

// MoveMailing makes a move if the mailing's status allows it, records why,
// and returns the mailing. Errors: ErrNotFound, fault.Conflict (a status
// the move does not start from, or a change made meanwhile).
func (s *Store) MoveMailing(ctx context.Context, id ID, move MailingMove, reason string) (*Mailing, error) {
	status := move.To
	m, err := s.MailingByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(move.From, m.Status) {
		return nil, fault.New(fault.Conflict, fmt.Sprintf("A %s mailing cannot become %s.", strings.ToLower(string(m.Status)), strings.ToLower(string(status))))
	}
	now := s.nowUTC()
	set := bson.D{{Key: "status", Value: status}, {Key: "status_reason", Value: reason}, {Key: "modified", Value: now}}
	switch {
	case status == MailingRunning && m.StartedAt == nil:
		set = append(set, bson.E{Key: "started_at", Value: now})
	case status.Final():
		set = append(set, bson.E{Key: "finished_at", Value: now})
	}
	// The status is in the filter, so a change made meanwhile by someone
	// else (on MongoDB, atomically) is not overwritten.
	res, err := s.mailings().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: m.Status}}, bson.D{{Key: "$set", Value: set}}, false)
	if err != nil {
		return nil, fmt.Errorf("set status of mailing %s: %w", id, err)
	}
	if res.Matched == 0 {
		return nil, fault.New(fault.Conflict, "The mailing changed meanwhile; try again.")
	}
	return s.MailingByID(ctx, id)
}

// DeleteMailing deletes a mailing and its messages. Errors: ErrNotFound.
func (s *Store) DeleteMailing(ctx context.Context, id ID) error {
	if _, err := s.MailingByID(ctx, id); err != nil {
		return err
	}
	if _, err := s.messages().DeleteMany(ctx, bson.D{{Key: "mailing", Value: id}}); err != nil {
		return fmt.Errorf("delete messages of mailing %s: %w", id, err)
	}
	if _, err := s.mailings().DeleteOne(ctx, byID(id)); err != nil {
		return fmt.Errorf("delete mailing %s: %w", id, err)
	}
	return nil
}

// MailingByID returns one mailing. Errors: ErrNotFound.
func (s *Store) MailingByID(ctx context.Context, id ID) (*Mailing, error) {
	var m Mailing
	if err := findByID(ctx, s.mailings(), id, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// MailingFilter selects mailings.
type MailingFilter struct {
	IDs []ID
	// Tag and Code keep mailings that target that tag name / code.
	Tag      *string
	Code     *string
	Statuses []MailingStatus
	// ActiveAt keeps mailings whose dates include that instant.
	ActiveAt *time.Time
}

// Values counts the values the filter holds: each one given, each item
// of its lists.
func (f *MailingFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.IDs) + given(f.Tag, f.Code) + len(f.Statuses) + given(f.ActiveAt)
}

func (f *MailingFilter) document() bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	if f.IDs != nil {
		and = append(and, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(f.IDs)}}}})
	}
	if f.Tag != nil {
		and = append(and, bson.D{{Key: "tags", Value: *f.Tag}})
	}
	if f.Code != nil {
		and = append(and, bson.D{{Key: "codes", Value: *f.Code}})
	}
	if f.Statuses != nil {
		and = append(and, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}}})
	}
	if f.ActiveAt != nil {
		at := f.ActiveAt.UTC()
		and = append(and,
			bson.D{{Key: "start_notification_date", Value: bson.D{{Key: "$lte", Value: at}}}},
			bson.D{{Key: "end_notification_date", Value: bson.D{{Key: "$gt", Value: at}}}})
	}
	return allOf(and)
}

// FindMailings returns matching mailings in id order.
func (s *Store) FindMailings(ctx context.Context, f *MailingFilter, page Page) ([]Mailing, error) {
	return findPage[Mailing](ctx, s.mailings(), f.document(), page)
}

// CountMailings counts matching mailings.
func (s *Store) CountMailings(ctx context.Context, f *MailingFilter) (int, error) {
	return count(ctx, s.mailings(), f.document())
}

// Recipients returns the clients a mailing targets now, in id order.
func (s *Store) Recipients(ctx context.Context, m *Mailing) ([]Client, error) {
	f, err := s.recipientFilter(ctx, m)
	if err != nil || f == nil {
		return nil, err
	}
	return s.FindClients(ctx, f, Page{})
}

// CountRecipients counts the clients a mailing targets now.
func (s *Store) CountRecipients(ctx context.Context, m *Mailing) (int, error) {
	f, err := s.recipientFilter(ctx, m)
	if err != nil || f == nil {
		return 0, err
	}
	return s.CountClients(ctx, f)
}

// recipientFilter is nil when no tag or code of the mailing exists any
// more (no client can match).
func (s *Store) recipientFilter(ctx context.Context, m *Mailing) (*ClientFilter, error) {
	tags, err := s.labelIDs(ctx, tagLabel, "tags", m.Tags)
	if err != nil && fault.CodeOf(err) != fault.Invalid {
		return nil, err
	}
	codes, err := s.labelIDs(ctx, codeLabel, "codes", m.Codes)
	if err != nil && fault.CodeOf(err) != fault.Invalid {
		return nil, err
	}
	if len(tags) == 0 || len(codes) == 0 {
		return nil, nil
	}
	return &ClientFilter{TagIDs: tags, OperatorCodeIDs: codes}, nil
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (s *Store) mailings() docdb.Collection { return s.Collection(colMailings) }

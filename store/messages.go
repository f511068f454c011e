package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// MessageStatus is where one message of a mailing is.
type MessageStatus string

const (
	MessagePending MessageStatus = "PENDING"
	MessageSending MessageStatus = "SENDING"
	MessageSent    MessageStatus = "SENT"
	MessageFailed  MessageStatus = "FAILED"
	MessageExpired MessageStatus = "EXPIRED"
)

// MessageStatuses lists every status, in the order statistics show them.
var MessageStatuses = []MessageStatus{MessagePending, MessageSending, MessageSent, MessageFailed, MessageExpired}

// Final tells whether a message will not be sent (again).
func (s MessageStatus) Final() bool {
	return s == MessageSent || s == MessageFailed || s == MessageExpired
}

// Message is one mailing's text on its way to one client. There is one per
// (mailing, client), enforced by a unique index.
type Message struct {
	ID        ID            `bson:"_id"`
	MailingID ID            `bson:"mailing"`
	ClientID  ID            `bson:"client"`
	Status    MessageStatus `bson:"status"`
	// SendDate is when the receiver accepted it.
	SendDate  *time.Time `bson:"send_date"`
	Attempts  int        `bson:"attempts"`
	LastError string     `bson:"last_error"`
	// NextAttempt is when a pending message may be tried (again).
	NextAttempt time.Time `bson:"next_attempt"`
	// Chunk is the dispatch work item that sends the message (leases are
	// taken on chunks, not on messages; see dispatch.go).
	Chunk   string    `bson:"chunk,omitempty"`
	Created time.Time `bson:"created"`
}

// MessageFilter selects messages.
type MessageFilter struct {
	MailingIDs []ID
	ClientIDs  []ID
	Statuses   []MessageStatus
}

// Values counts the values the filter holds: each item of its lists.
func (f *MessageFilter) Values() int {
	if f == nil {
		return 0
	}
	return len(f.MailingIDs) + len(f.ClientIDs) + len(f.Statuses)
}

func (f *MessageFilter) document() bson.D {
	if f == nil {
		return bson.D{}
	}
	var and bson.A
	if f.MailingIDs != nil {
		and = append(and, bson.D{{Key: "mailing", Value: bson.D{{Key: "$in", Value: idKeys(f.MailingIDs)}}}})
	}
	if f.ClientIDs != nil {
		and = append(and, bson.D{{Key: "client", Value: bson.D{{Key: "$in", Value: idKeys(f.ClientIDs)}}}})
	}
	if f.Statuses != nil {
		and = append(and, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}}})
	}
	return allOf(and)
}

// FindMessages returns matching messages in id order.
func (s *Store) FindMessages(ctx context.Context, f *MessageFilter, page Page) ([]Message, error) {
	return findPage[Message](ctx, s.messages(), f.document(), page)
}

// CountMessages counts matching messages.
func (s *Store) CountMessages(ctx context.Context, f *MessageFilter) (int, error) {
	return count(ctx, s.messages(), f.document())
}

// MessageByID returns one message. Errors: ErrNotFound.
func (s *Store) MessageByID(ctx context.Context, id ID) (*Message, error) {
	var m Message
	if err := findByID(ctx, s.messages(), id, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// MailingStats counts a mailing's messages by status.
type MailingStats struct {
	MailingID ID
	ByStatus  map[MessageStatus]int
	Total     int
}

// Count returns the number of messages in a status.
func (st *MailingStats) Count(s MessageStatus) int { return st.ByStatus[s] }

// Stats counts the messages of the given mailings (all of them when ids is
// nil) by status, in the store: one aggregation, no message is loaded.
// Every mailing asked for gets stats, with zero counts if it has no
// message.
func (s *Store) Stats(ctx context.Context, ids []ID) (map[ID]*MailingStats, error) {
	match := bson.D{}
	if ids != nil {
		match = bson.D{{Key: "mailing", Value: bson.D{{Key: "$in", Value: idKeys(ids)}}}}
	}
	groups, err := s.messages().CountBy(ctx, match, "mailing", "status")
	if err != nil {
		return nil, fmt.Errorf("message statistics: %w", err)
	}
	stats := map[ID]*MailingStats{}
	get := func(id ID) *MailingStats {
		st, ok := stats[id]
		if !ok {
			st = &MailingStats{MailingID: id, ByStatus: map[MessageStatus]int{}}
			stats[id] = st
		}
		return st
	}
	for _, id := range ids {
		get(id)
	}
	for _, g := range groups {
		var mailing ID
		if err := mailing.UnmarshalBSONValue(byte(g.Keys[0].Type), g.Keys[0].Value); err != nil {
			return nil, fmt.Errorf("message statistics: %w", err)
		}
		status, _ := g.Keys[1].StringValueOK()
		st := get(mailing)
		st.ByStatus[MessageStatus(status)] += int(g.N)
		st.Total += int(g.N)
	}
	return stats, nil
}

// FirstSend is when a mailing's first message was sent (nil when none
// was): one indexed read.
func (s *Store) FirstSend(ctx context.Context, mailingID ID) (*time.Time, error) {
	return s.sendAt(ctx, mailingID, 1)
}

// LastSend is when a mailing's last message was sent (nil when none was):
// one indexed read.
func (s *Store) LastSend(ctx context.Context, mailingID ID) (*time.Time, error) {
	return s.sendAt(ctx, mailingID, -1)
}

// sendAt reads the send date at one end (1 the first, -1 the last) of a
// mailing's sent messages in send order.
func (s *Store) sendAt(ctx context.Context, mailingID ID, end int) (*time.Time, error) {
	filter := bson.D{{Key: "mailing", Value: mailingID}, {Key: "status", Value: MessageSent}}
	var m Message
	err := s.messages().FindOne(ctx, filter, docdb.FindOptions{Sort: bson.D{{Key: "send_date", Value: end}}}, &m)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("send dates of mailing %s: %w", mailingID, err)
	}
	return m.SendDate, nil
}

func (s *Store) messages() docdb.Collection { return s.Collection(colMessages) }

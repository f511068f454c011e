package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	pipeline := mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "mailing", Value: "$mailing"}, {Key: "status", Value: "$status"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}
	cur, err := s.messages().Aggregate(ctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("message statistics: %w", classify(err))
	}
	var rows []struct {
		Key struct {
			Mailing ID            `bson:"mailing"`
			Status  MessageStatus `bson:"status"`
		} `bson:"_id"`
		N int `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read message statistics: %w", classify(err))
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
	for _, r := range rows {
		st := get(r.Key.Mailing)
		st.ByStatus[r.Key.Status] += r.N
		st.Total += r.N
	}
	return stats, nil
}

// SendSpan returns the first and last send dates of a mailing's sent
// messages (nil when none was sent). The embedded store has no $min or $max
// accumulator, so it asks for the two ends of the sorted list instead.
func (s *Store) SendSpan(ctx context.Context, mailingID ID) (first, last *time.Time, err error) {
	filter := bson.D{{Key: "mailing", Value: mailingID}, {Key: "status", Value: MessageSent}}
	for _, end := range []struct {
		dir int
		out **time.Time
	}{{1, &first}, {-1, &last}} {
		var m Message
		err := s.messages().FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "send_date", Value: end.dir}})).Decode(&m)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("send span of mailing %s: %w", mailingID, classify(err))
		}
		*end.out = m.SendDate
	}
	return first, last, nil
}

func (s *Store) messages() *mongo.Collection { return s.db.Collection(colMessages) }

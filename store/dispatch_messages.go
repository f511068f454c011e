package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// The messages side of dispatching: creating a mailing's messages in
// chunks, reading them and their clients by _id, and recording what
// happened to them. Every write here is by _id.

// MailingTargets returns the ids of the tags and operator codes a mailing
// names that still exist; a client matches when both its tag and its code
// are among them. Errors: the store's only.
func (s *Store) MailingTargets(ctx context.Context, m *Mailing) (tags, codes []ID, err error) {
	f, err := s.recipientFilter(ctx, m)
	if err != nil || f == nil {
		return nil, nil, err
	}
	return f.TagIDs, f.OperatorCodeIDs, nil
}

// RecipientIDs returns the ids of the clients a mailing targets now.
// Errors: the store's only.
func (s *Store) RecipientIDs(ctx context.Context, m *Mailing) ([]ID, error) {
	f, err := s.recipientFilter(ctx, m)
	if err != nil || f == nil {
		return nil, err
	}
	return s.clientIDs(ctx, f.document())
}

// ClientsWithMessages returns the clients that already have a message of
// the mailing, reading the client of each of its messages: the lead calls
// it once a rescan. Errors: the store's only.
func (s *Store) ClientsWithMessages(ctx context.Context, mailingID ID) (map[ID]bool, error) {
	var rows []struct {
		Client ID `bson:"client"`
	}
	err := s.messages().Find(ctx, bson.D{{Key: "mailing", Value: mailingID}},
		docdb.FindOptions{Projection: bson.D{{Key: "client", Value: 1}}}, &rows)
	if err != nil {
		return nil, fmt.Errorf("find messages of mailing %s: %w", mailingID, err)
	}
	have := make(map[ID]bool, len(rows))
	for _, r := range rows {
		have[r.Client] = true
	}
	return have, nil
}

// NewMessages says how CreateMessages creates messages.
type NewMessages struct {
	// Status is MessagePending (sent by chunks) or a final status (recorded
	// for statistics only, for a mailing that ended before it started).
	Status MessageStatus
	// Reason is the LastError of messages created final.
	Reason string
	// Now stamps the messages and chunks.
	Now time.Time
}

// CreateMessages creates a message of the mailing for each client, and for
// pending messages the chunks that will send them, and returns how many
// messages it created. A client that has a message of the mailing already
// gets no second one (the unique index), so calling it again is harmless.
//
// Each chunk is inserted before its messages, not yet due, and published
// once they are in: a message therefore never exists without the chunk
// that sends it, whatever the moment a crash strikes. Errors: the
// store's; messages created before the error are counted.
func (s *Store) CreateMessages(ctx context.Context, mailingID ID, clients []ID, nm NewMessages) (int, error) {
	if len(clients) == 0 {
		return 0, nil
	}
	now := nm.Now.UTC().Truncate(time.Millisecond)
	first, err := s.nextIDs(ctx, colMessages, len(clients))
	if err != nil {
		return 0, err
	}
	created := 0
	for start := 0; start < len(clients); start += ChunkSize {
		end := min(start+ChunkSize, len(clients))
		n, err := s.createMessageBatch(ctx, mailingID, first+ID(start), clients[start:end], nm.Status, nm.Reason, now)
		created += n
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

func (s *Store) createMessageBatch(ctx context.Context, mailingID, firstID ID, clients []ID, status MessageStatus, reason string, now time.Time) (int, error) {
	chunk := ""
	ids := make([]ID, len(clients))
	for i := range clients {
		ids[i] = firstID + ID(i)
	}
	if status == MessagePending {
		var err error
		if chunk, err = newChunkID(mailingID); err != nil {
			return 0, err
		}
		w := Work{ID: chunk, Kind: WorkChunk, MailingID: mailingID, Due: now.Add(ChunkSettle), Created: now, Messages: ids, Open: len(ids)}
		if _, err := s.work().Insert(ctx, w); err != nil {
			return 0, fmt.Errorf("create chunk of mailing %s: %w", mailingID, err)
		}
	}
	docs := make([]any, len(clients))
	for i, c := range clients {
		docs[i] = Message{ID: ids[i], MailingID: mailingID, ClientID: c, Status: status, LastError: reason,
			NextAttempt: now, Created: now, Chunk: chunk}
	}
	// A client that has a message of the mailing already is refused by the
	// unique index; the others go in.
	inserted, err := s.messages().Insert(ctx, docs...)
	if err != nil && !isDuplicateKey(err) {
		return 0, fmt.Errorf("create messages of mailing %s: %w", mailingID, err)
	}
	if chunk == "" {
		return inserted, nil
	}
	if inserted == 0 {
		_, err = s.work().DeleteOne(ctx, byID(chunk))
	} else {
		_, err = s.work().UpdateOne(ctx, byID(chunk), bson.D{{Key: "$set", Value: bson.D{{Key: "due", Value: now}, {Key: "open", Value: inserted}, {Key: "ready", Value: true}}}}, false)
	}
	if err != nil {
		return inserted, fmt.Errorf("publish chunk %s: %w", chunk, err)
	}
	return inserted, nil
}

// MessagesByIDs returns the messages with these ids that exist, in the
// order of ids, in one read. Errors: the store's only; missing ids are left
// out, not errors.
func (s *Store) MessagesByIDs(ctx context.Context, ids []ID) ([]Message, error) {
	found, err := findByIDs[Message](ctx, s.messages(), ids)
	if err != nil {
		return nil, err
	}
	return inOrder(ids, found, func(m Message) ID { return m.ID }), nil
}

// ClientsByIDs returns the clients with these ids that exist, in the order
// of ids, in one read. Errors: as MessagesByIDs.
func (s *Store) ClientsByIDs(ctx context.Context, ids []ID) ([]Client, error) {
	found, err := findByIDs[Client](ctx, s.clients(), ids)
	if err != nil {
		return nil, err
	}
	return inOrder(ids, found, func(c Client) ID { return c.ID }), nil
}

func findByIDs[T any](ctx context.Context, coll docdb.Collection, ids []ID) ([]T, error) {
	var out []T
	if len(ids) == 0 {
		return out, nil
	}
	if err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: idKeys(ids)}}}}, docdb.FindOptions{}, &out); err != nil {
		return nil, fmt.Errorf("find by ids in %s: %w", coll.Name(), err)
	}
	return out, nil
}

// inOrder arranges found in the order of ids, leaving out missing ones.
func inOrder[T any](ids []ID, found []T, idOf func(T) ID) []T {
	byID := make(map[ID]T, len(found))
	for _, v := range found {
		byID[idOf(v)] = v
	}
	out := make([]T, 0, len(found))
	for _, id := range ids {
		if v, ok := byID[id]; ok {
			out = append(out, v)
		}
	}
	return out
}

// MarkSending moves messages to SENDING: a dispatcher is about to send
// them. A later holder of their chunk sends them again, under the same id
// (the receiver's idempotency key), should the first never record a result.
// Errors: the store's only.
func (s *Store) MarkSending(ctx context.Context, ids []ID) error {
	models := make([]docdb.Write, len(ids))
	for i, id := range ids {
		models[i] = docdb.Write{Filter: byID(id), Update: bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: MessageSending}}}}}
	}
	if _, err := s.bulkWrite(ctx, s.messages(), models); err != nil {
		return fmt.Errorf("mark messages sending: %w", err)
	}
	return nil
}

// MessageResult is the outcome of sending (or not sending) one message.
type MessageResult struct {
	ID        ID
	Status    MessageStatus
	Attempts  int
	LastError string
	// SendDate is set for a sent message.
	SendDate *time.Time
	// NextAttempt is when a pending message may be tried again.
	NextAttempt time.Time
}

// RecordResults writes the outcomes of messages, by _id, in bulk writes of
// one bulk write. A message deleted meanwhile is skipped. Errors:
// the store's only.
func (s *Store) RecordResults(ctx context.Context, results []MessageResult) error {
	if len(results) == 0 {
		return nil
	}
	models := make([]docdb.Write, len(results))
	for i, r := range results {
		set := bson.D{
			{Key: "status", Value: r.Status},
			{Key: "attempts", Value: r.Attempts},
			{Key: "last_error", Value: r.LastError},
			{Key: "next_attempt", Value: r.NextAttempt.UTC().Truncate(time.Millisecond)},
		}
		if r.SendDate != nil {
			set = append(set, bson.E{Key: "send_date", Value: r.SendDate.UTC().Truncate(time.Millisecond)})
		}
		models[i] = docdb.Write{Filter: byID(r.ID), Update: bson.D{{Key: "$set", Value: set}}}
	}
	if _, err := s.bulkWrite(ctx, s.messages(), models); err != nil {
		return fmt.Errorf("record message results: %w", err)
	}
	return nil
}

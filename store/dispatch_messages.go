package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The messages side of dispatching: creating a mailing's messages in
// chunks, reading them and their clients by _id, and recording what
// happened to them. Every write here is by _id and goes through bulkWrite.

// pointReads bounds the lookups by _id run at once by MessagesByIDs and
// ClientsByIDs.
const pointReads = 4

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
// the mailing. It reads every message of the mailing (on the embedded
// store, every message): the lead calls it once a rescan. Errors: the
// store's only.
func (s *Store) ClientsWithMessages(ctx context.Context, mailingID ID) (map[ID]bool, error) {
	cur, err := s.messages().Find(ctx, bson.D{{Key: "mailing", Value: mailingID}},
		options.Find().SetProjection(bson.D{{Key: "client", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find messages of mailing %s: %w", mailingID, classify(err))
	}
	var rows []struct {
		Client ID `bson:"client"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read messages of mailing %s: %w", mailingID, classify(err))
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
// that sends it, whatever the moment a crash strikes. A message whose id
// collided with another (the embedded store's id counter is not atomic
// between concurrent callers) is not created; its client is found again by
// the next search for recipients. Errors: the store's; messages created
// before the error are counted.
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
		if _, err := s.serial(s.work()).InsertOne(ctx, w); err != nil {
			return 0, fmt.Errorf("create chunk of mailing %s: %w", mailingID, classify(err))
		}
	}
	docs := make([]any, len(clients))
	for i, c := range clients {
		docs[i] = Message{ID: ids[i], MailingID: mailingID, ClientID: c, Status: status, LastError: reason,
			NextAttempt: now, Created: now, Chunk: chunk}
	}
	inserted := len(docs)
	_, err := s.serial(s.messages()).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil {
		dups, ok := duplicatesOnly(err)
		if !ok {
			return 0, fmt.Errorf("create messages of mailing %s: %w", mailingID, classify(err))
		}
		inserted -= dups
	}
	if chunk == "" {
		return inserted, nil
	}
	if inserted == 0 {
		_, err = s.serial(s.work()).DeleteOne(ctx, bson.D{{Key: "_id", Value: chunk}})
	} else {
		_, err = s.serial(s.work()).UpdateOne(ctx, bson.D{{Key: "_id", Value: chunk}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "due", Value: now}, {Key: "open", Value: inserted}, {Key: "ready", Value: true}}}})
	}
	if err != nil {
		return inserted, fmt.Errorf("publish chunk %s: %w", chunk, classify(err))
	}
	return inserted, nil
}

// duplicatesOnly counts the documents an unordered insert refused as
// duplicates, and tells whether nothing else went wrong.
func duplicatesOnly(err error) (int, bool) {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return 0, false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return 0, false
		}
	}
	return len(bwe.WriteErrors), true
}

// MessagesByIDs returns the messages with these ids that exist, in the
// order of ids, reading each by _id (the one lookup the embedded store does
// not answer by scanning). Errors: the store's only; missing ids are left
// out, not errors.
func (s *Store) MessagesByIDs(ctx context.Context, ids []ID) ([]Message, error) {
	return pointLookups[Message](ctx, s.messages(), ids)
}

// ClientsByIDs returns the clients with these ids that exist, in the order
// of ids, reading each by _id. Errors: as MessagesByIDs.
func (s *Store) ClientsByIDs(ctx context.Context, ids []ID) ([]Client, error) {
	return pointLookups[Client](ctx, s.clients(), ids)
}

func pointLookups[T any](ctx context.Context, coll *mongo.Collection, ids []ID) ([]T, error) {
	found := make([]*T, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, pointReads)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var v T
			err := findByID(ctx, coll, id, &v)
			switch {
			case err == nil:
				found[i] = &v
			case !errors.Is(err, ErrNotFound):
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ids))
	for _, v := range found {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out, nil
}

// MarkSending moves messages to SENDING: a dispatcher is about to send
// them. A later holder of their chunk sends them again, under the same id
// (the receiver's idempotency key), should the first never record a result.
// Errors: the store's only.
func (s *Store) MarkSending(ctx context.Context, ids []ID) error {
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: id}}).
			SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: MessageSending}}}})
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
// at most 50 statements. A message deleted meanwhile is skipped. Errors:
// the store's only.
func (s *Store) RecordResults(ctx context.Context, results []MessageResult) error {
	if len(results) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(results))
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
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: r.ID}}).
			SetUpdate(bson.D{{Key: "$set", Value: set}})
	}
	if _, err := s.bulkWrite(ctx, s.messages(), models); err != nil {
		return fmt.Errorf("record message results: %w", err)
	}
	return nil
}

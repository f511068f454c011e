package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// DispatchSummary is the state of sending across every dispatcher, as the
// store holds it: what operators watch to see that mailings go out.
type DispatchSummary struct {
	Messages map[MessageStatus]int
	Mailings map[MailingStatus]int
	// WorkDue counts work items nobody holds that are due: claimed work
	// moves its due time to the lease's end, so a backlog here means the
	// dispatchers are too few, or all down.
	WorkDue int
}

// Summarize counts messages and mailings by status and the work due at
// now. It reads every message on the embedded store, so callers bound
// how often they ask. Errors: the store's only.
func (s *Store) Summarize(ctx context.Context, now time.Time) (*DispatchSummary, error) {
	sum := &DispatchSummary{Messages: map[MessageStatus]int{}, Mailings: map[MailingStatus]int{}}
	for _, st := range MessageStatuses {
		sum.Messages[st] = 0
	}
	for _, st := range MailingStatuses {
		sum.Mailings[st] = 0
	}
	stats, err := s.Stats(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, st := range stats {
		for status, n := range st.ByStatus {
			sum.Messages[status] += n
		}
	}
	if err := countByStatus(ctx, s.mailings(), sum.Mailings); err != nil {
		return nil, err
	}
	sum.WorkDue, err = count(ctx, s.work(), bson.D{{Key: "due", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// countByStatus adds up a collection's documents by their status field.
func countByStatus[S ~string](ctx context.Context, coll *mongo.Collection, into map[S]int) error {
	cur, err := coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$status"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return fmt.Errorf("count %s by status: %w", coll.Name(), classify(err))
	}
	var rows []struct {
		Status S   `bson:"_id"`
		N      int `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return fmt.Errorf("read %s counts: %w", coll.Name(), classify(err))
	}
	for _, r := range rows {
		into[r.Status] += r.N
	}
	return nil
}

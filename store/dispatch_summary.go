package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
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
// now. Grouping every message by status reads the whole collection (on
// either engine), so callers bound how often they ask. Errors: the store's only.
func (s *Store) Summarize(ctx context.Context, now time.Time) (*DispatchSummary, error) {
	sum := &DispatchSummary{Messages: map[MessageStatus]int{}, Mailings: map[MailingStatus]int{}}
	for _, st := range MessageStatuses {
		sum.Messages[st] = 0
	}
	for _, st := range MailingStatuses {
		sum.Mailings[st] = 0
	}
	if err := countByStatus(ctx, s.messages(), sum.Messages); err != nil {
		return nil, err
	}
	if err := countByStatus(ctx, s.mailings(), sum.Mailings); err != nil {
		return nil, err
	}
	var err error
	sum.WorkDue, err = count(ctx, s.work(), bson.D{{Key: "due", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// countByStatus adds up a collection's documents by their status field.
func countByStatus[S ~string](ctx context.Context, coll docdb.Collection, into map[S]int) error {
	groups, err := coll.CountBy(ctx, nil, "status")
	if err != nil {
		return fmt.Errorf("count %s by status: %w", coll.Name(), err)
	}
	for _, g := range groups {
		status, _ := g.Keys[0].StringValueOK()
		into[S(status)] += int(g.N)
	}
	return nil
}

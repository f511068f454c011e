package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Sign-in throttling counts failures in the store, not in memory, so that
// attempts spread over several gateways add up. One document per key
// ("account:alice", "ip:203.0.113.9"), looked up by _id.
type throttleDoc struct {
	Key          string    `bson:"_id"`
	Failures     int       `bson:"failures"`
	WindowStart  time.Time `bson:"window_start"`
	BlockedUntil time.Time `bson:"blocked_until"`
}

// ThrottleBlockedUntil returns until when a key is blocked (zero if not).
func (s *Store) ThrottleBlockedUntil(ctx context.Context, key string) (time.Time, error) {
	var doc throttleDoc
	err := s.throttle().FindOne(ctx, bson.D{{Key: "_id", Value: key}}, docdb.FindOptions{}, &doc)
	if errors.Is(err, docdb.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read throttle: %w", err)
	}
	return doc.BlockedUntil, nil
}

// ThrottleFailure counts one failure for key within a window that starts at
// the key's first failure, and blocks the key until blockFor(failures) from
// now when that is positive. It returns the failures counted in the window.
func (s *Store) ThrottleFailure(ctx context.Context, key string, window time.Duration, blockFor func(int) time.Duration) (int, error) {
	now := s.nowUTC()
	var doc throttleDoc
	err := s.throttle().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "failures", Value: 1}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "window_start", Value: now}, {Key: "blocked_until", Value: time.Time{}}}},
	}, docdb.ModifyOptions{Upsert: true}, &doc)
	if err != nil {
		return 0, fmt.Errorf("count sign-in failure: %w", err)
	}
	set := bson.D{}
	if now.Sub(doc.WindowStart) > window {
		// The window has passed: this failure starts a new one.
		doc.Failures = 1
		set = append(set, bson.E{Key: "failures", Value: 1}, bson.E{Key: "window_start", Value: now})
	}
	if d := blockFor(doc.Failures); d > 0 {
		set = append(set, bson.E{Key: "blocked_until", Value: now.Add(d)})
	}
	if len(set) > 0 {
		if _, err := s.throttle().UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{{Key: "$set", Value: set}}, false); err != nil {
			return 0, fmt.Errorf("update sign-in throttle: %w", err)
		}
	}
	return doc.Failures, nil
}

// ThrottleReset forgets a key's failures (after a successful sign-in).
func (s *Store) ThrottleReset(ctx context.Context, key string) error {
	if _, err := s.throttle().DeleteOne(ctx, bson.D{{Key: "_id", Value: key}}); err != nil {
		return fmt.Errorf("reset sign-in throttle: %w", err)
	}
	return nil
}

// PruneThrottle removes keys whose window and block have both passed, so the
// collection stays as small as the set of recent offenders.
func (s *Store) PruneThrottle(ctx context.Context, window time.Duration) (int64, error) {
	now := s.nowUTC()
	res, err := s.throttle().DeleteMany(ctx, bson.D{
		{Key: "window_start", Value: bson.D{{Key: "$lt", Value: now.Add(-window)}}},
		{Key: "blocked_until", Value: bson.D{{Key: "$lt", Value: now}}},
	})
	if err != nil {
		return 0, fmt.Errorf("prune sign-in throttle: %w", err)
	}
	return res, nil
}

func (s *Store) throttle() docdb.Collection { return s.Collection(colThrottle) }

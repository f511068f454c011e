package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Throttling counts attempts in the store, not in memory, so that attempts
// spread over several gateways add up. One document per key
// ("account:alice", "ip:203.0.113.9"), looked up by _id; failures holds
// the attempts counted in the window.
type throttleDoc struct {
	Key          string    `bson:"_id"`
	Failures     int       `bson:"failures"`
	WindowStart  time.Time `bson:"window_start"`
	BlockedUntil time.Time `bson:"blocked_until"`
}

// ThrottleAttempt counts one attempt for key, unless the key is blocked,
// and blocks the key until blockFor(attempts) from now when that is
// positive, where attempts are those in a window that starts at the key's
// first attempt. It answers the block that refused the attempt, or the
// zero time when the attempt was counted and may go ahead.
//
// Counting and blocking are one step: the attempt is counted only if the
// count it read is still the key's count, so of any number of attempts
// made at once, each that goes ahead has seen the block of the one before.
// A block is never shortened ($max). An attempt that loses that race more
// than a few times in a row is refused for a second: the key is under a
// flood.
func (s *Store) ThrottleAttempt(ctx context.Context, key string, window time.Duration, blockFor func(int) time.Duration) (time.Time, error) {
	for range throttleRetries {
		now := s.nowUTC()
		var doc throttleDoc
		err := s.throttle().FindOne(ctx, byID(key), docdb.FindOptions{}, &doc)
		if errors.Is(err, docdb.ErrNotFound) {
			first := throttleDoc{Key: key, Failures: 1, WindowStart: now}
			if d := blockFor(1); d > 0 {
				first.BlockedUntil = now.Add(d)
			}
			_, err = s.throttle().Insert(ctx, first)
			if isDuplicateKey(err) {
				continue // another attempt made the key first
			}
			if err != nil {
				return time.Time{}, fmt.Errorf("count attempt: %w", err)
			}
			return time.Time{}, nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("read throttle: %w", err)
		}
		if doc.BlockedUntil.After(now) {
			return doc.BlockedUntil, nil
		}
		attempts, windowStart := doc.Failures+1, doc.WindowStart
		if now.Sub(windowStart) > window {
			attempts, windowStart = 1, now // this attempt starts a new window
		}
		update := bson.D{{Key: "$set", Value: bson.D{{Key: "failures", Value: attempts}, {Key: "window_start", Value: windowStart}}}}
		if d := blockFor(attempts); d > 0 {
			update = append(update, bson.E{Key: "$max", Value: bson.D{{Key: "blocked_until", Value: now.Add(d)}}})
		}
		res, err := s.throttle().UpdateOne(ctx, bson.D{
			{Key: "_id", Value: key}, {Key: "failures", Value: doc.Failures}, {Key: "window_start", Value: doc.WindowStart},
		}, update, false)
		if err != nil {
			return time.Time{}, fmt.Errorf("count attempt: %w", err)
		}
		if res.Matched == 1 {
			return time.Time{}, nil
		}
	}
	return s.nowUTC().Add(time.Second), nil
}

// throttleRetries bounds the reads one attempt makes while others change
// the same key.
const throttleRetries = 8

// ThrottleReset forgets a key's failures (after a successful sign-in).
func (s *Store) ThrottleReset(ctx context.Context, key string) error {
	if _, err := s.throttle().DeleteOne(ctx, byID(key)); err != nil {
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

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// Token is a sign-in token as stored: only the SHA-256 digest of the key
// the user holds, never the key itself. The digest is the _id, so checking a
// token is the fastest lookup either store offers.
type Token struct {
	Digest  string    `bson:"_id"`
	UserID  ID        `bson:"user_id"`
	Created time.Time `bson:"created"`
	// Revoked marks a token its user's deactivation revoked. It is kept,
	// not deleted, so that it is still refused as a deactivated user's
	// token ("User inactive or deleted.", as Django answers), and refused
	// for good once the user is active again.
	Revoked bool `bson:"revoked,omitempty"`
}

// CreateToken stores a new token for a user.
func (s *Store) CreateToken(ctx context.Context, digest string, userID ID) (*Token, error) {
	t := Token{Digest: digest, UserID: userID, Created: s.nowUTC()}
	if _, err := s.tokens().Insert(ctx, t); err != nil {
		return nil, fmt.Errorf("create token for user %s: %w", userID, err)
	}
	return &t, nil
}

// TokenByDigest returns a token. Errors: ErrNotFound, ErrUnavailable.
func (s *Store) TokenByDigest(ctx context.Context, digest string) (*Token, error) {
	var t Token
	err := s.tokens().FindOne(ctx, byID(digest), docdb.FindOptions{}, &t)
	if errors.Is(err, docdb.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return &t, nil
}

// DeleteToken revokes one token. Deleting a missing token is not an error:
// signing out twice leaves the same state.
func (s *Store) DeleteToken(ctx context.Context, digest string) error {
	if _, err := s.tokens().DeleteOne(ctx, byID(digest)); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// DeleteUserTokens revokes every token of a user, optionally keeping one
// (the token of the request that changed the password).
func (s *Store) DeleteUserTokens(ctx context.Context, userID ID, keep ...string) error {
	filter := bson.D{{Key: "user_id", Value: userID}}
	if len(keep) > 0 {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: keep}}})
	}
	if _, err := s.tokens().DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("delete tokens of user %s: %w", userID, err)
	}
	return nil
}

// RevokeUserTokens marks every token of a user revoked (see Token.Revoked).
func (s *Store) RevokeUserTokens(ctx context.Context, userID ID) error {
	_, err := s.tokens().UpdateMany(ctx, bson.D{{Key: "user_id", Value: userID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	if err != nil {
		return fmt.Errorf("revoke tokens of user %s: %w", userID, err)
	}
	return nil
}

func (s *Store) tokens() docdb.Collection { return s.Collection(colTokens) }

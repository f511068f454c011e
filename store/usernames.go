package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The usernames directory names each user's id under their username, as
// its _id. A lookup by string _id is the one query every store answers
// without reading the whole collection (the embedded store filters
// everything else row by row), so sign-in and every read by name cost two
// point lookups however many users there are, and cost the same whether
// the name exists or not, which keeps sign-in's timing from telling.
//
// An entry is written before the user document names it (claimUsername),
// so every user has one; an entry may outlive its claim (a process that
// died between the two writes, a rename or deletion half done), so a read
// checks that the user it names still has the name. The users collection's
// unique username index stays the last word on uniqueness.
type usernameEntry struct {
	Name    string    `bson:"_id"`
	User    ID        `bson:"user"`
	Claimed time.Time `bson:"claimed"`
	// Claim tells one claimant from another: the embedded store's counter
	// can give two creators one id, so the id cannot.
	Claim string `bson:"claim"`
}

func newUsernameEntry(name string, id ID, now time.Time) usernameEntry {
	return usernameEntry{Name: name, User: id, Claimed: now, Claim: rand.Text()}
}

// usernameClaimGrace is how long a claim counts as in progress: an entry
// younger than this is never taken over, even when no user bears its name
// yet. Creating a user takes well under the request timeout.
const usernameClaimGrace = time.Minute

func (s *Store) usernames() *mongo.Collection { return s.db.Collection(colUsernames) }

// claimUsername points name at id, refusing a name another user holds or
// is being given, at now; it returns the claim, which moves and releases
// it. A stale entry (older than the grace, naming a user that is gone or
// renamed) is taken over: deleted, then inserted anew, so that of two
// claimants only one insert wins. Errors: *ValidationError (username
// taken), ErrUnavailable.
func (s *Store) claimUsername(ctx context.Context, name string, id ID, now time.Time) (claim string, err error) {
	entry := newUsernameEntry(name, id, now)
	for range 3 {
		_, err := s.usernames().InsertOne(ctx, entry)
		if err == nil {
			return entry.Claim, nil
		}
		if !isDuplicateKey(err) {
			return "", fmt.Errorf("claim username: %w", classify(err))
		}
		held, err := s.usernameEntry(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return "", err
		}
		stale, err := s.staleUsername(ctx, held, now)
		if err != nil {
			return "", err
		}
		if !stale {
			return "", FieldError("username", msgUsernameTaken)
		}
		if _, err := s.usernames().DeleteOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "claim", Value: held.Claim}}); err != nil {
			return "", fmt.Errorf("release stale username: %w", classify(err))
		}
	}
	return "", FieldError("username", msgUsernameTaken)
}

// staleUsername tells whether an entry outlived its claim.
func (s *Store) staleUsername(ctx context.Context, e *usernameEntry, now time.Time) (bool, error) {
	if now.Sub(e.Claimed) < usernameClaimGrace {
		return false, nil
	}
	u, err := s.UserByID(ctx, e.User)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return u.Username != e.Name, nil
}

// repointUsername moves a claim to another id (the id it was made for
// was taken by a concurrent insert).
func (s *Store) repointUsername(ctx context.Context, name, claim string, to ID) error {
	_, err := s.usernames().UpdateOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "claim", Value: claim}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "user", Value: to}}}})
	if err != nil {
		return fmt.Errorf("move username claim: %w", classify(err))
	}
	return nil
}

// releaseUsername removes name's entry if it still names id; with a
// claim, only that claim's. It is best effort: an entry left behind is
// stale, and is taken over once its grace has passed.
func (s *Store) releaseUsername(ctx context.Context, name string, id ID, claim string) {
	filter := bson.D{{Key: "_id", Value: name}, {Key: "user", Value: id}}
	if claim != "" {
		filter = append(filter, bson.E{Key: "claim", Value: claim})
	}
	_, _ = s.usernames().DeleteOne(ctx, filter)
}

func (s *Store) usernameEntry(ctx context.Context, name string) (*usernameEntry, error) {
	var e usernameEntry
	err := s.usernames().FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&e)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find username: %w", classify(err))
	}
	return &e, nil
}

// userIDByUsername is the id the directory names for username; the
// caller checks that the user still has the name. Errors: ErrNotFound,
// ErrUnavailable.
func (s *Store) userIDByUsername(ctx context.Context, username string) (ID, error) {
	e, err := s.usernameEntry(ctx, username)
	if err != nil {
		return 0, err
	}
	return e.User, nil
}

// usernamesIndexed is the counters document that marks a database whose
// every user has had an entry since: users are entered as they are made,
// so only a database that had users before the directory needs the pass.
const usernamesIndexed = "usernames_indexed"

// indexUsernamesOnce runs IndexUsernames unless it has run to its end on
// this database before. Migrate calls it at every start.
func (s *Store) indexUsernamesOnce(ctx context.Context) error {
	err := s.db.Collection(colCounters).FindOne(ctx, bson.D{{Key: "_id", Value: usernamesIndexed}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("find the usernames mark: %w", classify(err))
	}
	return s.IndexUsernames(ctx)
}

// IndexUsernames gives every user that has no entry in the usernames
// directory one, and marks the database as indexed. It reads the users'
// names and the directory once each. The migrate command runs it every
// time: after instances of a version without the directory have created
// users, it enters them.
func (s *Store) IndexUsernames(ctx context.Context) error {
	type named struct {
		ID       ID     `bson:"_id"`
		Username string `bson:"username"`
	}
	users, err := findPage[named](ctx, s.users(), bson.D{}, Page{})
	if err != nil {
		return err
	}
	entries, err := findPage[usernameEntry](ctx, s.usernames(), bson.D{}, Page{})
	if err != nil {
		return err
	}
	have := make(map[string]ID, len(entries))
	for _, e := range entries {
		have[e.Name] = e.User
	}
	var now time.Time
	for _, u := range users {
		if id, ok := have[u.Username]; ok && id == u.ID {
			continue
		}
		if now.IsZero() {
			now = s.nowUTC()
		}
		// The user document has the name, so the entry is its.
		_, err := s.usernames().ReplaceOne(ctx, bson.D{{Key: "_id", Value: u.Username}},
			newUsernameEntry(u.Username, u.ID, now), options.Replace().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("index username: %w", classify(err))
		}
	}
	_, err = s.db.Collection(colCounters).UpdateOne(ctx, bson.D{{Key: "_id", Value: usernamesIndexed}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "users", Value: len(users)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("mark usernames indexed: %w", classify(err))
	}
	return nil
}

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/store/docdb"
)

// The dispatcher's work lives in two small collections.
//
// dispatch_work holds one document per unit of work: a chunk (up to
// ChunkSize messages of one mailing that are not final yet) or a mailing's
// lead (starting it, finding new recipients, logging progress, finishing
// it). A chunk is deleted once its messages are all final, so the
// collection holds only the work in progress, and listing due work, the one
// query that is not by _id, stays small.
//
// dispatch_claims holds the claims. Taking a work item means inserting the
// claim "<work id>:<generation>" for the next generation: the unique _id
// makes exactly one of any number of dispatchers win. A claim is
// a lease: its owner extends it while it works, and once it has passed (the
// owner died) anyone may insert the next generation. Claims are only read
// by _id and are deleted with their work item.

// WorkKind tells what a work item is.
type WorkKind string

const (
	// WorkChunk is a batch of one mailing's messages.
	WorkChunk WorkKind = "chunk"
	// WorkMailing is a mailing's lead: one dispatcher at a time starts,
	// rescans, watches and finishes the mailing.
	WorkMailing WorkKind = "mailing"
)

// ChunkSize is the most messages one chunk holds: one lease's worth of
// work, recorded in one bulk write.
const ChunkSize = 50

// ChunkSettle is how long a chunk stays unlisted while its messages are
// being created. CreateMessages publishes a chunk as soon as its messages
// are in; a chunk whose creator died in between becomes due after this
// long, when no insert of it can still be under way (callers bound one
// CreateMessages call well below it).
const ChunkSettle = 30 * time.Second

// Work is one unit of dispatch work.
type Work struct {
	ID        string   `bson:"_id"`
	Kind      WorkKind `bson:"kind"`
	MailingID ID       `bson:"mailing"`
	// Due is when the work should be looked at next. A claim moves it to the
	// lease's end, so held work drops out of the listing until its lease
	// could have passed.
	Due time.Time `bson:"due"`
	// Gen is the generation of the latest claim known to have been won; a
	// hint only (claims are probed from it), so a lost update of it is
	// harmless.
	Gen     int64     `bson:"gen"`
	Created time.Time `bson:"created"`

	// Chunk fields.
	Messages []ID `bson:"messages,omitempty"`
	// Open counts the chunk's messages that are not final, as of its last
	// release (progress is computed from it without reading messages).
	Open int `bson:"open"`
	// Ready tells that the chunk's messages have been created.
	Ready bool `bson:"ready"`

	// Mailing-lead fields, written only by the lead's holder.
	Total     int        `bson:"total"`     // messages created for the mailing
	Logged    int        `bson:"logged"`    // tenths of progress already logged
	Rescanned *time.Time `bson:"rescanned"` // the last search for recipients
}

// Lease is a won claim on a work item.
type Lease struct {
	WorkID string
	Gen    int64
	Owner  string
	Until  time.Time
	// TakenOver tells that the claim before this one was never released:
	// its dispatcher died or stalled, and this one took the work over.
	TakenOver bool
}

// claim is the stored form of a lease.
type claim struct {
	ID       string    `bson:"_id"`
	Work     string    `bson:"work"`
	Gen      int64     `bson:"gen"`
	Owner    string    `bson:"owner"`
	Until    time.Time `bson:"until"`
	Released bool      `bson:"released"`
	Created  time.Time `bson:"created"`
}

var (
	// ErrClaimed is returned when another dispatcher holds the work or won
	// the race for it. A *ClaimedError carries the holder's lease end.
	ErrClaimed = errors.New("work already claimed")
	// ErrLeaseLost is returned when a lease was taken over by another
	// dispatcher (its owner was too slow to extend it).
	ErrLeaseLost = errors.New("lease lost")
)

// ClaimedError says who holds a work item and until when. It is ErrClaimed.
type ClaimedError struct {
	Owner string
	Until time.Time
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("work held by %s until %s", e.Owner, e.Until.Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrClaimed) true.
func (e *ClaimedError) Is(target error) bool { return target == ErrClaimed }

func mailingWorkID(id ID) string { return "mailing:" + id.key() }

func newChunkID(mailing ID) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("chunk id: %w", err)
	}
	return "chunk:" + mailing.key() + ":" + hex.EncodeToString(b[:]), nil
}

func claimID(work string, gen int64) string { return fmt.Sprintf("%s:%d", work, gen) }

// EnsureMailingWork creates the lead work item of a mailing, due at now,
// unless it exists; it tells whether it created it. Errors: the store's
// (ErrUnavailable) only.
func (s *Store) EnsureMailingWork(ctx context.Context, mailingID ID, now time.Time) (bool, error) {
	now = now.UTC()
	_, err := s.work().Insert(ctx, Work{ID: mailingWorkID(mailingID), Kind: WorkMailing, MailingID: mailingID, Due: now, Created: now})
	if isDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create lead of mailing %s: %w", mailingID, err)
	}
	return true, nil
}

// DueWorkFilter selects work to claim.
type DueWorkFilter struct {
	// Now: work due at or before it is listed.
	Now time.Time
	// SkipMailings leaves out the work of these mailings (paused ones).
	SkipMailings []ID
	// Limit bounds the list; 0 means no limit.
	Limit int
}

// DueWork lists work items that are due, the longest due first. Errors:
// the store's only.
func (s *Store) DueWork(ctx context.Context, f DueWorkFilter) ([]Work, error) {
	filter := bson.D{{Key: "due", Value: bson.D{{Key: "$lte", Value: f.Now.UTC()}}}}
	if len(f.SkipMailings) > 0 {
		filter = append(filter, bson.E{Key: "mailing", Value: bson.D{{Key: "$nin", Value: idKeys(f.SkipMailings)}}})
	}
	opts := docdb.FindOptions{Sort: bson.D{{Key: "due", Value: 1}, {Key: "_id", Value: 1}}, Limit: int64(f.Limit)}
	return findWork(ctx, s.work(), filter, opts)
}

// MailingChunks returns the chunks of a mailing that are not done. Errors:
// the store's only.
func (s *Store) MailingChunks(ctx context.Context, mailingID ID) ([]Work, error) {
	filter := bson.D{{Key: "mailing", Value: mailingID}, {Key: "kind", Value: WorkChunk}}
	return findWork(ctx, s.work(), filter, docdb.FindOptions{})
}

// WorkByID returns one work item. Errors: ErrNotFound.
func (s *Store) WorkByID(ctx context.Context, id string) (*Work, error) {
	var w Work
	if err := findByID(ctx, s.work(), id, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

func findWork(ctx context.Context, coll docdb.Collection, filter bson.D, opts docdb.FindOptions) ([]Work, error) {
	var out []Work
	if err := coll.Find(ctx, filter, opts, &out); err != nil {
		return nil, fmt.Errorf("find work: %w", err)
	}
	return out, nil
}

// ClaimWork takes w for owner until until, by inserting the claim of the
// generation after the latest one. The latest claim must be released, or
// have passed before now (the caller subtracts what it allows for clock
// skew between dispatchers). On success the work's Due moves to until.
// Errors: *ClaimedError (ErrClaimed) when a live lease holds the work or
// another dispatcher won the same generation; ErrNotFound when the work
// item is gone.
func (s *Store) ClaimWork(ctx context.Context, w *Work, owner string, now, until time.Time) (*Lease, error) {
	gen, latest, err := s.latestClaim(ctx, w.ID, w.Gen)
	if err != nil {
		return nil, err
	}
	if latest != nil && !latest.Released && latest.Until.After(now) {
		return nil, &ClaimedError{Owner: latest.Owner, Until: latest.Until}
	}
	until = until.UTC().Truncate(time.Millisecond)
	c := claim{ID: claimID(w.ID, gen+1), Work: w.ID, Gen: gen + 1, Owner: owner, Until: until, Created: now.UTC()}
	if _, err := s.claims().Insert(ctx, c); isDuplicateKey(err) {
		return nil, &ClaimedError{Owner: "another dispatcher", Until: until}
	} else if err != nil {
		return nil, fmt.Errorf("claim %s: %w", c.ID, err)
	}
	res, err := s.work().UpdateOne(ctx, byID(w.ID), bson.D{{Key: "$set", Value: bson.D{{Key: "gen", Value: c.Gen}, {Key: "due", Value: until}}}}, false)
	if err == nil && res.Matched == 0 {
		// The work was finished and deleted after it was listed.
		_, _ = s.claims().DeleteOne(ctx, byID(c.ID))
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mark work %s claimed: %w", w.ID, err)
	}
	return &Lease{WorkID: w.ID, Gen: c.Gen, Owner: owner, Until: until, TakenOver: latest != nil && !latest.Released}, nil
}

// latestClaim finds the highest generation claimed on work, probing by _id
// from the hint (claims are never deleted while their work exists, so the
// probe cannot skip a live one). It returns generation 0 and no claim when
// there is none.
func (s *Store) latestClaim(ctx context.Context, work string, hint int64) (int64, *claim, error) {
	gen := max(hint, 0)
	var latest *claim
	if gen > 0 {
		c, err := s.claimByID(ctx, claimID(work, gen))
		if err != nil {
			return 0, nil, err
		}
		latest = c // nil if the work is being deleted: then the work is gone too
	}
	for {
		c, err := s.claimByID(ctx, claimID(work, gen+1))
		if err != nil {
			return 0, nil, err
		}
		if c == nil {
			return gen, latest, nil
		}
		gen, latest = gen+1, c
	}
}

func (s *Store) claimByID(ctx context.Context, id string) (*claim, error) {
	var c claim
	err := findByID(ctx, s.claims(), id, &c)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// superseded tells whether a later generation has been claimed.
func (s *Store) superseded(ctx context.Context, l *Lease) error {
	next, err := s.claimByID(ctx, claimID(l.WorkID, l.Gen+1))
	if err != nil {
		return err
	}
	if next != nil {
		return fmt.Errorf("%w: %s taken by %s", ErrLeaseLost, l.WorkID, next.Owner)
	}
	return nil
}

// ExtendLease moves the lease's end (and the work's Due) to until, then
// checks that nobody has taken the work over. Errors: ErrLeaseLost,
// ErrNotFound (the work is gone).
func (s *Store) ExtendLease(ctx context.Context, l *Lease, until time.Time) error {
	until = until.UTC().Truncate(time.Millisecond)
	if _, err := s.claims().UpdateOne(ctx, byID(claimID(l.WorkID, l.Gen)), bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: until}}}}, false); err != nil {
		return fmt.Errorf("extend lease on %s: %w", l.WorkID, err)
	}
	res, err := s.work().UpdateOne(ctx, byID(l.WorkID), bson.D{{Key: "$set", Value: bson.D{{Key: "due", Value: until}}}}, false)
	if err != nil {
		return fmt.Errorf("extend lease on %s: %w", l.WorkID, err)
	}
	if res.Matched == 0 {
		return ErrNotFound
	}
	if err := s.superseded(ctx, l); err != nil {
		return err
	}
	l.Until = until
	return nil
}

// WorkRelease is what a holder leaves behind when it lets work go.
type WorkRelease struct {
	// Due is when the work should be taken up again.
	Due time.Time
	// Open (chunks) is how many of its messages are not final.
	Open int
}

// ReleaseWork records when the work is due again and gives up the lease,
// so any dispatcher may claim it from then on. Errors: ErrLeaseLost,
// ErrNotFound.
func (s *Store) ReleaseWork(ctx context.Context, l *Lease, r WorkRelease) error {
	if err := s.superseded(ctx, l); err != nil {
		return err
	}
	res, err := s.work().UpdateOne(ctx, byID(l.WorkID), bson.D{{Key: "$set", Value: bson.D{{Key: "due", Value: r.Due.UTC()}, {Key: "open", Value: r.Open}, {Key: "gen", Value: l.Gen}}}}, false)
	if err != nil {
		return fmt.Errorf("release %s: %w", l.WorkID, err)
	}
	if res.Matched == 0 {
		return ErrNotFound
	}
	if _, err := s.claims().UpdateOne(ctx, byID(claimID(l.WorkID, l.Gen)), bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}}}}, false); err != nil {
		return fmt.Errorf("release %s: %w", l.WorkID, err)
	}
	return nil
}

// FinishWork deletes a work item whose work is done, then its claims. The
// work goes first: a dispatcher that listed it earlier and wins a claim
// meanwhile finds it gone (ClaimWork answers ErrNotFound). Errors:
// ErrLeaseLost.
func (s *Store) FinishWork(ctx context.Context, l *Lease) error {
	if err := s.superseded(ctx, l); err != nil {
		return err
	}
	if _, err := s.work().DeleteOne(ctx, byID(l.WorkID)); err != nil {
		return fmt.Errorf("finish %s: %w", l.WorkID, err)
	}
	models := make([]docdb.Write, 0, l.Gen)
	for g := int64(1); g <= l.Gen; g++ {
		models = append(models, docdb.Write{Filter: byID(claimID(l.WorkID, g)), Delete: true})
	}
	if _, err := s.bulkWrite(ctx, s.claims(), models); err != nil {
		return fmt.Errorf("delete claims of %s: %w", l.WorkID, err)
	}
	return nil
}

// MakeDue makes the given ready chunks due at now (a mailing that ended or
// was cancelled has its chunks' messages finalised at once). Errors: the
// store's only.
func (s *Store) MakeDue(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	models := make([]docdb.Write, len(ids))
	for i, id := range ids {
		models[i] = docdb.Write{Filter: byID(id), Update: bson.D{{Key: "$set", Value: bson.D{{Key: "due", Value: now.UTC()}}}}}
	}
	if _, err := s.bulkWrite(ctx, s.work(), models); err != nil {
		return fmt.Errorf("make chunks due: %w", err)
	}
	return nil
}

// MailingProgress is what a mailing's lead remembers between its holders.
type MailingProgress struct {
	Total     int
	Logged    int
	Rescanned *time.Time
}

// SetMailingProgress records the lead's progress. Only the lease's holder
// writes it. Errors: ErrLeaseLost, ErrNotFound.
func (s *Store) SetMailingProgress(ctx context.Context, l *Lease, p MailingProgress) error {
	if err := s.superseded(ctx, l); err != nil {
		return err
	}
	set := bson.D{{Key: "total", Value: p.Total}, {Key: "logged", Value: p.Logged}, {Key: "rescanned", Value: p.Rescanned}}
	res, err := s.work().UpdateOne(ctx, byID(l.WorkID), bson.D{{Key: "$set", Value: set}}, false)
	if err != nil {
		return fmt.Errorf("record progress of %s: %w", l.WorkID, err)
	}
	if res.Matched == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *Store) work() docdb.Collection   { return s.Collection(colWork) }
func (s *Store) claims() docdb.Collection { return s.Collection(colClaims) }

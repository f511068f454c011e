package dispatch_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/docdb"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// openWrapped returns a store on a new, migrated database whose engine
// wrap stands between (a test's faults); it is dropped when the test ends.
func openWrapped(t testing.TB, opts store.Options, wrap func(docdb.DB) docdb.DB) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.OpenEngine(ctx, storetest.Config(storetest.NewDatabase()))
	if err != nil {
		t.Fatal(err)
	}
	s := store.New(wrap(db), opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// refusingDB fails every lease extension while refuse is set, as a store
// that stops answering a dispatcher's extensions would: the leases it
// holds run down to their end. Only an extension writes a lease's "until"
// (a claim inserts it).
type refusingDB struct {
	docdb.DB
	refuse *atomic.Bool
}

func (d refusingDB) Collection(name string) docdb.Collection {
	return refusingCollection{Collection: d.DB.Collection(name), refuse: d.refuse}
}

type refusingCollection struct {
	docdb.Collection
	refuse *atomic.Bool
}

func (c refusingCollection) UpdateOne(ctx context.Context, filter, update bson.D, upsert bool) (docdb.UpdateResult, error) {
	if c.refuse.Load() && setsField(update, "until") {
		return docdb.UpdateResult{}, errors.New("the store refuses to extend the lease")
	}
	return c.Collection.UpdateOne(ctx, filter, update, upsert)
}

// setsField tells whether an update's $set writes field.
func setsField(update bson.D, field string) bool {
	for _, op := range update {
		set, ok := op.Value.(bson.D)
		if op.Key != "$set" || !ok {
			continue
		}
		for _, e := range set {
			if e.Key == field {
				return true
			}
		}
	}
	return false
}

// leaseSend is a send as the sender saw it start: the message, and the
// generation and time left of its chunk's lease.
type leaseSend struct {
	id   store.ID
	gen  int64
	left time.Duration
}

// A send starts only with the lease time to spare: SendTimeout+ClockSkew
// must be left on the chunk's lease, so that the send is over before
// anyone may take the chunk over. The store refuses the dispatcher's lease
// extensions, the clock moves while the first send of a chunk is under
// way to leave less than that margin on the lease, and the first send
// returns: the next message must not be sent under that lease. It goes out
// later, under a new claim with the whole lease ahead of it.
func TestNoSendStartsWithinTheLeaseMargin(t *testing.T) {
	t.Parallel()
	clock := dispatch.NewManualClock()
	var refuse atomic.Bool
	s := openWrapped(t, store.Options{Now: clock.Now}, func(db docdb.DB) docdb.DB { return refusingDB{DB: db, refuse: &refuse} })
	f := fixtureOn(t, s)
	f.clients(3, "UTC")
	now := clock.Now()
	m := f.mailing("Margin", now.Add(-time.Minute), now.Add(time.Hour), nil)
	logs := &logBuffer{}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	cfg := clockConfig(clock, logs)
	cfg.Concurrency = 1 // the second message waits for the first's slot
	cfg.SendTimeout = 10 * time.Second
	margin := cfg.SendTimeout + cfg.ClockSkew

	var (
		mu    sync.Mutex
		sends []leaseSend
	)
	first, resume := make(chan struct{}), make(chan struct{})
	sender := dispatch.SenderFunc(func(ctx context.Context, msg dispatch.Message) error {
		chunks, err := s.MailingChunks(ctx, m.ID)
		if err != nil || len(chunks) != 1 {
			t.Errorf("the mailing's chunks: %v, %v", chunks, err)
			return errors.New("no chunk")
		}
		// A held chunk is due when its lease ends.
		mu.Lock()
		sends = append(sends, leaseSend{id: msg.ID, gen: chunks[0].Gen, left: chunks[0].Due.Sub(clock.Now())})
		n := len(sends)
		mu.Unlock()
		if n == 1 {
			close(first)
			select {
			case <-resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	start(t, s, sender, cfg)
	polled(t, clock, cfg)
	drive(t, clock, cfg, time.Minute, "the first send under way", func() bool {
		select {
		case <-first:
			return true
		default:
			return false
		}
	})

	refuse.Store(true)
	chunks, err := s.MailingChunks(context.Background(), m.ID)
	if err != nil || len(chunks) != 1 {
		t.Fatalf("the mailing's chunks: %v, %v", chunks, err)
	}
	until := chunks[0].Due
	clock.Advance(until.Sub(clock.Now()) - margin + time.Second)
	close(resume)
	drive(t, clock, cfg, time.Minute, "the mailing finished", func() bool { return f.mailingStatus(m.ID).Final() })

	mu.Lock()
	defer mu.Unlock()
	if len(sends) != 3 {
		t.Fatalf("%d sends for 3 messages: %+v", len(sends), sends)
	}
	for _, s := range sends {
		if s.left < margin {
			t.Errorf("message %d was sent with %s left on its chunk's lease, less than the send timeout and the clock skew (%s)", s.id, s.left, margin)
		}
	}
	if sends[1].gen <= sends[0].gen {
		t.Errorf("the second message was sent under the first's lease (generation %d, then %d)", sends[0].gen, sends[1].gen)
	}
	if st := f.stats(m.ID); st.Count(store.MessageSent) != 3 {
		t.Errorf("stats %v", st.ByStatus)
	}
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// twoStores opens two handles on one fresh database, as two gateways
// would, and drops it when the test ends.
func twoStores(t *testing.T) (*store.Store, *store.Store) {
	t.Helper()
	s := storetest.OpenShared(t, 2)
	return s[0], s[1]
}

// mailingWithClients makes a running-shaped mailing and n clients it targets.
func mailingWithClients(t *testing.T, s *store.Store, n int) (*store.Mailing, []store.ID) {
	t.Helper()
	ctx := context.Background()
	tag, err := s.CreateTag(ctx, "vip")
	if err != nil {
		t.Fatal(err)
	}
	code, err := s.CreateOperatorCode(ctx, "916")
	if err != nil {
		t.Fatal(err)
	}
	in := make([]store.ClientInput, n)
	for i := range in {
		in[i] = store.ClientInput{PhoneNumber: fmt.Sprintf("7916%07d", i), OperatorCodeID: code.ID, TagID: tag.ID, Timezone: "UTC"}
	}
	ids, err := s.CreateClients(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := s.CreateMailing(ctx, store.MailingInput{Text: "hello", Start: now.Add(-time.Hour), End: now.Add(time.Hour), Tags: []string{"vip"}, Codes: []string{"916"}})
	if err != nil {
		t.Fatal(err)
	}
	return m, ids
}

func TestClaimHasExactlyOneWinner(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	now := time.Now()
	if created, err := a.EnsureMailingWork(ctx, 7, now); err != nil || !created {
		t.Fatalf("ensure: %v, %v", created, err)
	}
	if created, err := b.EnsureMailingWork(ctx, 7, now); err != nil || created {
		t.Fatalf("second ensure: %v, %v", created, err)
	}
	due, err := a.DueWork(ctx, store.DueWorkFilter{Now: now})
	if err != nil || len(due) != 1 {
		t.Fatalf("due: %v, %v", due, err)
	}
	var (
		mu     sync.Mutex
		leases []*store.Lease
		wg     sync.WaitGroup
	)
	for i := range 20 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := due[0]
			l, err := s.ClaimWork(ctx, &w, fmt.Sprintf("d%d", i), now, now.Add(time.Minute))
			if errors.Is(err, store.ErrClaimed) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			leases = append(leases, l)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(leases) != 1 {
		t.Fatalf("%d winners, want 1", len(leases))
	}
	// Held work drops out of the listing until its lease could have passed.
	if due, _ := a.DueWork(ctx, store.DueWorkFilter{Now: now.Add(time.Second)}); len(due) != 0 {
		t.Errorf("held work listed: %v", due)
	}
	if due, _ := a.DueWork(ctx, store.DueWorkFilter{Now: now.Add(2 * time.Minute)}); len(due) != 1 {
		t.Errorf("expired lease's work not listed: %v", due)
	}
}

func TestLeaseTakeoverAndRelease(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	if _, err := s.EnsureMailingWork(ctx, 9, now); err != nil {
		t.Fatal(err)
	}
	w, err := s.WorkByID(ctx, "mailing:00000000000000000009")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.ClaimWork(ctx, w, "a", now, now.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ce *store.ClaimedError
	if _, err := s.ClaimWork(ctx, w, "b", now.Add(5*time.Second), now.Add(time.Minute)); !errors.As(err, &ce) || ce.Owner != "a" || !ce.Until.Equal(first.Until) {
		t.Fatalf("claim of held work: %v", err)
	}
	// The hint in w is stale (generation 0); the probe still finds the holder.
	if first.Gen != 1 || w.Gen != 0 {
		t.Fatalf("generations: lease %d, hint %d", first.Gen, w.Gen)
	}
	// Once the lease has passed, another takes over with generation 2 ...
	second, err := s.ClaimWork(ctx, w, "b", now.Add(11*time.Second), now.Add(time.Minute))
	if err != nil || second.Gen != 2 || first.TakenOver || !second.TakenOver {
		t.Fatalf("takeover: %+v (first %+v), %v", second, first, err)
	}
	// ... and the first owner learns it at its next extension or release.
	if err := s.ExtendLease(ctx, first, now.Add(time.Minute)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("extend a lost lease: %v", err)
	}
	if err := s.ReleaseWork(ctx, first, store.WorkRelease{Due: now}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("release a lost lease: %v", err)
	}
	if err := s.FinishWork(ctx, first); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("finish with a lost lease: %v", err)
	}
	if err := s.ExtendLease(ctx, second, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A released lease can be claimed at once.
	if err := s.ReleaseWork(ctx, second, store.WorkRelease{Due: now.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	w, _ = s.WorkByID(ctx, w.ID)
	if w.Gen != 2 || !w.Due.Equal(now.Add(30*time.Second).UTC().Truncate(time.Millisecond)) {
		t.Errorf("released work: %+v", w)
	}
	third, err := s.ClaimWork(ctx, w, "c", now.Add(12*time.Second), now.Add(time.Minute))
	if err != nil || third.Gen != 3 || third.TakenOver {
		t.Fatalf("claim after release: %+v, %v", third, err)
	}
	if err := s.FinishWork(ctx, third); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WorkByID(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("finished work still there: %v", err)
	}
	// A dispatcher that listed the work before it finished wins nothing.
	if _, err := s.ClaimWork(ctx, w, "d", now.Add(time.Hour), now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim of finished work: %v", err)
	}
	// Its stray claim was removed, so a new lead starts from generation 1.
	if _, err := s.EnsureMailingWork(ctx, 9, now); err != nil {
		t.Fatal(err)
	}
	w, _ = s.WorkByID(ctx, w.ID)
	if l, err := s.ClaimWork(ctx, w, "e", now, now.Add(time.Minute)); err != nil || l.Gen != 1 {
		t.Errorf("claim of a new lead: %+v, %v", l, err)
	}
}

func TestCreateMessagesInChunks(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	m, clients := mailingWithClients(t, s, 120)
	now := time.Now()
	got, err := s.RecipientIDs(ctx, m)
	if err != nil || len(got) != 120 {
		t.Fatalf("recipients: %d, %v", len(got), err)
	}
	n, err := s.CreateMessages(ctx, m.ID, clients[:110], store.NewMessages{Status: store.MessagePending, Now: now})
	if err != nil || n != 110 {
		t.Fatalf("created %d, %v", n, err)
	}
	chunks, err := s.MailingChunks(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{}
	for _, c := range chunks {
		sizes[len(c.Messages)]++
		if !c.Ready || c.Open != len(c.Messages) || c.Due.After(now) {
			t.Errorf("chunk not published: %+v", c)
		}
		msgs, err := s.MessagesByIDs(ctx, c.Messages)
		if err != nil || len(msgs) != len(c.Messages) {
			t.Fatalf("messages of chunk: %d, %v", len(msgs), err)
		}
		for i, msg := range msgs {
			if msg.ID != c.Messages[i] || msg.Chunk != c.ID || msg.Status != store.MessagePending || msg.MailingID != m.ID {
				t.Errorf("message %+v in chunk %s", msg, c.ID)
			}
		}
	}
	if sizes[50] != 2 || sizes[10] != 1 || len(chunks) != 3 {
		t.Errorf("chunk sizes %v", sizes)
	}
	// Again, with ten new clients among them: only those get messages.
	n, err = s.CreateMessages(ctx, m.ID, clients, store.NewMessages{Status: store.MessagePending, Now: now})
	if err != nil || n != 10 {
		t.Fatalf("created again %d, %v", n, err)
	}
	// Batches whose clients all have a message leave no chunk; the last
	// one names ten messages that were refused as duplicates, and counts
	// only the ten it created as open.
	chunks, _ = s.MailingChunks(ctx, m.ID)
	partial := 0
	for _, c := range chunks {
		if len(c.Messages) == 20 && c.Open == 10 {
			partial++
		}
	}
	if len(chunks) != 4 || partial != 1 {
		t.Errorf("chunks after the second call: %+v", chunks)
	}
	have, err := s.ClientsWithMessages(ctx, m.ID)
	if err != nil || len(have) != 120 {
		t.Errorf("clients with messages: %d, %v", len(have), err)
	}
}

func TestRecordResultsInBulk(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, clients := mailingWithClients(t, s, 120)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.CreateMessages(ctx, m.ID, clients, store.NewMessages{Status: store.MessagePending, Now: now}); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.FindMessages(ctx, &store.MessageFilter{MailingIDs: []store.ID{m.ID}}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]store.ID, len(msgs))
	for i, msg := range msgs {
		ids[i] = msg.ID
	}
	// 120 updates: more than one bulk command carries on MongoDB.
	if err := s.MarkSending(ctx, ids); err != nil {
		t.Fatal(err)
	}
	results := make([]store.MessageResult, len(msgs))
	for i, msg := range msgs {
		r := store.MessageResult{ID: msg.ID, Status: store.MessageSent, Attempts: 1, SendDate: &now}
		if i%4 == 0 {
			r = store.MessageResult{ID: msg.ID, Status: store.MessageFailed, Attempts: 3, LastError: "webhook answered 422"}
		}
		results[i] = r
	}
	if err := s.RecordResults(ctx, results); err != nil {
		t.Fatal(err)
	}
	stats, err := s.Stats(ctx, []store.ID{m.ID})
	if err != nil {
		t.Fatal(err)
	}
	if st := stats[m.ID]; st.Count(store.MessageSent) != 90 || st.Count(store.MessageFailed) != 30 || st.Total != 120 {
		t.Errorf("stats %+v", st.ByStatus)
	}
	got, _ := s.MessageByID(ctx, msgs[1].ID)
	if got.Status != store.MessageSent || got.SendDate == nil || !got.SendDate.Equal(now) || got.Attempts != 1 {
		t.Errorf("sent message %+v", got)
	}
}

func TestDueWorkSkipsAndLimits(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	for id := store.ID(1); id <= 5; id++ {
		if _, err := s.EnsureMailingWork(ctx, id, now.Add(time.Duration(id)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueWork(ctx, store.DueWorkFilter{Now: now.Add(4 * time.Second), SkipMailings: []store.ID{2}, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].MailingID != 1 || due[1].MailingID != 3 {
		t.Errorf("due %+v", due)
	}
	if err := s.MakeDue(ctx, []string{"mailing:00000000000000000005"}, now); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueWork(ctx, store.DueWorkFilter{Now: now})
	if len(due) != 1 || due[0].MailingID != 5 {
		t.Errorf("made due: %+v", due)
	}
}

func TestSummarizeCountsWhatDispatchersWatch(t *testing.T) {
	s := storetest.Open(t, store.Options{})
	ctx := context.Background()
	now := time.Now()
	empty, err := s.Summarize(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if empty.WorkDue != 0 || len(empty.Messages) != len(store.MessageStatuses) || len(empty.Mailings) != len(store.MailingStatuses) {
		t.Errorf("empty store: %+v", empty)
	}
	m, clients := mailingWithClients(t, s, 60)
	if _, err := s.CreateMessages(ctx, m.ID, clients, store.NewMessages{Status: store.MessagePending, Now: now}); err != nil {
		t.Fatal(err)
	}
	chunks, err := s.MailingChunks(ctx, m.ID)
	if err != nil || len(chunks) != 2 {
		t.Fatalf("chunks: %d, %v", len(chunks), err)
	}
	// One message sent, one failed; one chunk held by a dispatcher.
	sent := now
	if err := s.RecordResults(ctx, []store.MessageResult{
		{ID: chunks[0].Messages[0], Status: store.MessageSent, Attempts: 1, SendDate: &sent},
		{ID: chunks[0].Messages[1], Status: store.MessageFailed, Attempts: 1, LastError: "rejected"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimWork(ctx, &chunks[0], "a", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveMailing(ctx, m.ID, store.MoveStart, ""); err != nil {
		t.Fatal(err)
	}
	sum, err := s.Summarize(ctx, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wantMessages := map[store.MessageStatus]int{store.MessagePending: 58, store.MessageSending: 0, store.MessageSent: 1, store.MessageFailed: 1, store.MessageExpired: 0}
	wantMailings := map[store.MailingStatus]int{store.MailingScheduled: 0, store.MailingRunning: 1, store.MailingPaused: 0, store.MailingFinished: 0, store.MailingCancelled: 0}
	if !reflect.DeepEqual(sum.Messages, wantMessages) || !reflect.DeepEqual(sum.Mailings, wantMailings) || sum.WorkDue != 1 {
		t.Errorf("summary = %+v", sum)
	}
}

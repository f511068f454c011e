package dispatch_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
)

// benchClients is the mailing's size in the benchmark.
const benchClients = 10_000

// BenchmarkDispatch sends a mailing of 10,000 clients, start to finish,
// through a sender that does nothing and through a webhook on this
// machine, on the embedded store (SQLite in this process: the allocations
// counted include the store's own). Each iteration seeds a new database;
// only the dispatch is timed.
func BenchmarkDispatch(b *testing.B) {
	for _, tc := range []struct {
		name   string
		sender func(b *testing.B) dispatch.Sender
	}{
		{"noop", func(*testing.B) dispatch.Sender {
			return dispatch.SenderFunc(func(context.Context, dispatch.Message) error { return nil })
		}},
		{"webhook", func(b *testing.B) dispatch.Sender { return webhook(b, newReceiver(b, nil), 5*time.Second) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var elapsed time.Duration
			var mallocs uint64
			for range b.N {
				b.StopTimer()
				f := newFixture(b)
				f.clients(benchClients, "UTC")
				now := time.Now()
				m := f.mailing("Benchmark", now.Add(-time.Minute), now.Add(time.Hour), nil)
				// The defaults of serve, but for a poll of 200ms (chunks
				// finishing wake the dispatcher anyway).
				cfg := dispatch.Config{Concurrency: 16, PollInterval: 200 * time.Millisecond, Logger: (*logBuffer)(nil).logger()}
				sender := tc.sender(b)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				started := time.Now()
				r := start(b, f.s, sender, cfg)
				f.waitFinished(m.ID, 10*time.Minute)
				elapsed += time.Since(started)
				b.StopTimer()
				runtime.ReadMemStats(&after)
				mallocs += after.Mallocs - before.Mallocs
				r.halt(b)
				if st := f.stats(m.ID); st.Count(store.MessageSent) != benchClients {
					b.Fatalf("sent %v", st.ByStatus)
				}
			}
			msgs := float64(b.N * benchClients)
			b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(mallocs)/msgs, "allocs/msg")
		})
	}
}

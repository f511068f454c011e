package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/dispatch"
	"github.com/gatehouse/gatehouse/store"
)

// dispatchMetrics are the dispatcher's own counters: what this process's
// dispatcher did. The state of sending across all dispatchers is the
// store's, and storeSummary reports it.
type dispatchMetrics struct {
	attempts  *prometheus.CounterVec
	retries   prometheus.Counter
	claims    *prometheus.CounterVec
	takenOver *prometheus.CounterVec
}

func newDispatchMetrics(reg prometheus.Registerer) *dispatchMetrics {
	d := &dispatchMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_dispatch_send_attempts_total", Help: "Send attempts by outcome (sent, retry, failed, abandoned at shutdown).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_dispatch_retries_total", Help: "Send attempts of messages that had been attempted before.",
		}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_dispatch_claims_total", Help: "Work items this dispatcher claimed, by kind (chunk, mailing).",
		}, []string{"kind"}),
		takenOver: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_dispatch_leases_taken_over_total", Help: "Work items taken over from a dispatcher whose lease passed, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(d.attempts, d.retries, d.claims, d.takenOver)
	for _, o := range dispatch.Outcomes {
		d.attempts.WithLabelValues(string(o))
	}
	for _, k := range []store.WorkKind{store.WorkChunk, store.WorkMailing} {
		d.claims.WithLabelValues(string(k))
		d.takenOver.WithLabelValues(string(k))
	}
	return d
}

// SendAttempted implements dispatch.Observer.
func (d *dispatchMetrics) SendAttempted(outcome dispatch.Outcome, retry bool) {
	d.attempts.WithLabelValues(string(outcome)).Inc()
	if retry {
		d.retries.Inc()
	}
}

// WorkClaimed implements dispatch.Observer.
func (d *dispatchMetrics) WorkClaimed(kind store.WorkKind, takenOver bool) {
	d.claims.WithLabelValues(string(kind)).Inc()
	if takenOver {
		d.takenOver.WithLabelValues(string(kind)).Inc()
	}
}

// storeSummary reports messages and mailings by status and the work due
// but unclaimed, as the store holds them. Counting reads every message
// (a GROUP BY over the table on the embedded store, a $group over the
// collection on MongoDB), so a scrape reuses a count younger than maxAge, and concurrent
// scrapes share one count. Every instance reports the same
// figures: alert on max() across instances, not sum().
type storeSummary struct {
	store   *store.Store
	logger  *slog.Logger
	maxAge  time.Duration
	timeout time.Duration

	messages *prometheus.Desc
	mailings *prometheus.Desc
	workDue  *prometheus.Desc

	mu   sync.Mutex
	last *store.DispatchSummary
	at   time.Time
}

func newStoreSummary(s *store.Store, logger *slog.Logger) *storeSummary {
	return &storeSummary{
		store: s, logger: logger, maxAge: time.Minute, timeout: 10 * time.Second,
		messages: prometheus.NewDesc("gatehouse_dispatch_messages", "Messages by status, across every dispatcher.", []string{"status"}, nil),
		mailings: prometheus.NewDesc("gatehouse_mailings", "Mailings by status.", []string{"status"}, nil),
		workDue:  prometheus.NewDesc("gatehouse_dispatch_work_due", "Work items due that no dispatcher holds: a backlog means too few dispatchers, or none running.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeSummary) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.mailings
	ch <- c.workDue
}

// Collect implements prometheus.Collector. When the store cannot answer,
// the last figures stand (none before the first success), so a slow store
// does not fail the whole scrape.
func (c *storeSummary) Collect(ch chan<- prometheus.Metric) {
	sum := c.current()
	if sum == nil {
		return
	}
	for status, n := range sum.Messages {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n), string(status))
	}
	for status, n := range sum.Mailings {
		ch <- prometheus.MustNewConstMetric(c.mailings, prometheus.GaugeValue, float64(n), string(status))
	}
	ch <- prometheus.MustNewConstMetric(c.workDue, prometheus.GaugeValue, float64(sum.WorkDue))
}

func (c *storeSummary) current() *store.DispatchSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.last != nil && now.Sub(c.at) < c.maxAge {
		return c.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	sum, err := c.store.Summarize(ctx, now)
	if err != nil {
		c.logger.Warn("metrics: count messages and mailings", "err", err)
		return c.last
	}
	c.last, c.at = sum, now
	return sum
}

// DispatchObserver is what a dispatcher reports to: these metrics, or
// nobody when metrics are off (m is nil).
func (m *Metrics) DispatchObserver() dispatch.Observer {
	if m == nil {
		return nil
	}
	return m.dispatch
}
